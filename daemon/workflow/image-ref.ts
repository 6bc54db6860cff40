/**
 * Container image references, checked as Docker does (distribution/reference grammar, the
 * `ParseNormalizedNamed` rules Tinkerbell applies to action images).
 */

// reference := name [ ":" tag ] [ "@" digest ];  name := [domain "/"] path-component ["/" path-component]*
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):([0-9a-fA-F]{32,})$/;
/** Hex lengths of the digest algorithms Docker knows (opencontainers/go-digest). */
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };
/** Longest repository name, domain included (reference.NameTotalLengthMax). */
const NAME_MAX = 255;

/** Why a string is not a valid image reference, or undefined when it is one. */
export function checkImageReference(ref: string): string | undefined {
  if (ref === "") return "image reference is empty";
  // A bare 64-hex string is an image ID, not a name; Docker refuses it as a name.
  if (/^[a-f0-9]{64}$/.test(ref)) return "a 64-character hexadecimal image ID cannot be used as an image name";
  const at = ref.indexOf("@");
  const [rest, digest] = at === -1 ? [ref, undefined] : [ref.slice(0, at), ref.slice(at + 1)];
  if (digest !== undefined) {
    const m = DIGEST.exec(digest);
    if (!m) return `invalid digest "${digest}" (expected sha256: and 64 hex digits)`;
    const want = DIGEST_HEX_LENGTH[m[1]!];
    if (want === undefined) return `unsupported digest algorithm "${m[1]}" (expected sha256, sha384 or sha512)`;
    if (m[2]!.length !== want || /[A-F]/.test(m[2]!)) return `invalid ${m[1]} digest (expected ${want} lower-case hex digits)`;
  }
  // A colon after the last slash starts the tag; one before it belongs to a registry port.
  const colon = rest.lastIndexOf(":");
  const [name, tag] = colon > rest.lastIndexOf("/") ? [rest.slice(0, colon), rest.slice(colon + 1)] : [rest, undefined];
  if (tag !== undefined && !TAG.test(tag)) return `invalid tag "${tag}" (letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-')`;
  if (name === "") return "image reference has no repository name";
  if (name.length > NAME_MAX) return `repository name is longer than ${NAME_MAX} characters`;

  const slash = name.indexOf("/");
  const first = slash === -1 ? "" : name.slice(0, slash);
  // Docker's rule: the first component is a registry when it has '.' or ':', is localhost, or has capitals.
  const hasDomain = slash !== -1 && (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase());
  const path = hasDomain ? name.slice(slash + 1) : name;
  if (hasDomain && !DOMAIN.test(first)) return `invalid registry host "${first}"`;
  if (path !== path.toLowerCase()) return "repository name must be lowercase";
  const bad = path.split("/").find((c) => !PATH_COMPONENT.test(c));
  if (bad !== undefined) {
    return bad === ""
      ? "invalid reference format (empty path component)"
      : `invalid path component "${bad}" (lower-case letters and digits, separated by '.', '_', '__' or '-')`;
  }
  return undefined;
}
