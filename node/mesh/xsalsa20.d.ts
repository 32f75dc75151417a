// xsalsa20 ships no types; bounded-pnet-cipher.ts names the parts it patches.
declare module 'xsalsa20' {
  const XSalsa20: unknown
  export default XSalsa20
}
