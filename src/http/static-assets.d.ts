// Types for the page assets embedded from static/ with `with { type: "file" }` (src/http/assets.ts).
declare module "*/static/login.js" { const path: string; export default path; }
declare module "*.svg" { const path: string; export default path; }
