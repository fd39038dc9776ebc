#!/usr/bin/env node
/**
 * The `kaltura-apptoken` executable.
 *
 * @since 0.1.0
 */
import { main } from "./internal/runner.js"

main(process.argv)
