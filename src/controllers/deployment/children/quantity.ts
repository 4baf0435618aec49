// The little Kubernetes quantity arithmetic the builders need: "8" × 2, "64Gi" × 4.

const QUANTITY_RE = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/;

/** `q` × `n`, keeping q's suffix: multiplyQuantity('64Gi', 2) === '128Gi'. */
export function multiplyQuantity(q: string, n: number): string {
  const m = QUANTITY_RE.exec(q);
  if (!m?.[1]) throw new Error(`not a quantity: ${q}`);
  const product = Number(m[1]) * n;
  // Round away float noise (0.1 × 3) without losing real decimals.
  return `${Number(product.toFixed(6))}${m[2] ?? ''}`;
}
