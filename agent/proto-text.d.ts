/** `import text from "x.proto" with { type: "text" }`: Bun embeds the file as a string (also when compiled). */
declare module "*.proto" {
  const text: string;
  export default text;
}
