// The identity a request acts as, for handlers: what the access guard admitted it as (null on a
// public route that presented none). One import for the route files, so none reaches into the guard.
export { identityOf } from "../access/guard";
