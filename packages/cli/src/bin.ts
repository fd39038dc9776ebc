#!/usr/bin/env node
/**
 * The `kaltura-apptoken` executable. The shipped bin is this file bundled with everything it imports
 * (`scripts/build-cli.mjs`); the rest of the CLI loads through the `import()` below, so that `--debug` can turn on
 * source maps first: the bundle is minified, and its stack traces then name the original files and lines.
 *
 * @since 0.1.0
 */
if (process.argv.includes("--debug")) process.setSourceMapsEnabled(true)

import("./internal/runner.js").then(({ main }) => main(process.argv))
