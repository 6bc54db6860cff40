/** drizzle-kit configuration: `bun x --bun drizzle-kit generate` writes migrations to drizzle/. */
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./daemon/store/schema.ts",
  out: "./drizzle",
});
