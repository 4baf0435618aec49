// The one way Hearth writes a time: RFC 3339 in UTC with `Z`, to the whole second
// (`2026-01-02T03:04:05Z`) — REST responses, status fields, annotations and conditions alike.
//
// Whole seconds because that is what the API notes and the published spec show
// (shared/spec/api-notes.md: `Timestamp` = `2023-11-07T05:31:56Z`; the OpenAPI examples likewise),
// and because it is the precision Kubernetes keeps for `creationTimestamp`, `deletionTimestamp`
// and condition times: a finer one could be honoured only for some fields of an object. Reading
// accepts any precision (src/api/wire/timestamp.ts); sub-second parts are dropped (floored).
// Kubernetes `MicroTime` fields (Lease, events.k8s.io) are a different type and keep their own.

/** `t` (epoch milliseconds or a Date) as RFC 3339, UTC, whole seconds. */
export function rfc3339(t: number | Date): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
