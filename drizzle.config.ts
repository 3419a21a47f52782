// drizzle-kit config: generates the D1 SQL migrations that wrangler applies (migrations_dir).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
