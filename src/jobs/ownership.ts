// Who owns a job and who may cancel it (access.md "Ownership"): a job records the token that
// started it; an operator may cancel only the jobs their token started, an admin any.
import { roleAtLeast, type Identity } from "../access/roles";
import { DomainError } from "../errors";
import type { JobCreator } from "./repository";

/** What a job records of the identity that submitted it (both null when auth is off). */
export const creatorOf = (identity: Identity | null): JobCreator => ({ name: identity?.name ?? null, tokenId: identity?.tokenId ?? null });

/**
 * Refuses a cancel the identity may not make. Another's job takes an admin, and the refusal is
 * access.md's for a role too low, naming the role that would do: `requires role admin`. Ownership
 * compares token ids, not names (names need not be unique); a job started while auth was off has
 * no owner, so only an admin cancels it once auth is on.
 */
export function checkMayCancel(identity: Identity | null, job: { createdByToken: string | null }): void {
  if (identity === null) throw new DomainError("unauthorized", "authentication required");
  if (!roleAtLeast(identity.role, "operator")) throw new DomainError("forbidden", "requires role operator");
  if (roleAtLeast(identity.role, "admin")) return;
  if (job.createdByToken !== null && job.createdByToken === identity.tokenId) return;
  throw new DomainError("forbidden", "requires role admin");
}
