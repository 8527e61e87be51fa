// drizzle-kit config: `npm run db:generate` writes SQL migrations from schema.ts into src/db/migrations.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.ts",
  out: "./src/db/migrations",
});
