// Types for files imported with `with { type: "file" }` / `{ type: "text" }` (Bun embeds them).
declare module "*.sql" { const text: string; export default text; }
declare module "*.wasm" { const path: string; export default path; }
declare module "*.data" { const path: string; export default path; }
declare module "*.css" { const path: string; export default path; }
declare module "*.min.js" { const path: string; export default path; }
declare module "*/static/app.js" { const path: string; export default path; }
