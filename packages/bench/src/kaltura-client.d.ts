// `kaltura-client` (AGPL-3.0, a devDependency of this private package only) ships no types.
declare module "kaltura-client" {
  const kaltura: any
  export default kaltura
}
