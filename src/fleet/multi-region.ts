// Which regions a multi-region (`placement.multiRegion`: GLOBAL, US, EUROPE, APAC) stands for: one
// rule for the REST API's quota check and the controller's placement, which used to disagree (the
// API counted `NA_` regions as US, the controller did not).
//
// The rule: a multi-region is the regions whose name carries its prefix — `US` is `US_*`, `EUROPE`
// `EU_*`, `APAC` `AP_*`; GLOBAL (and an unset or unknown multi-region) is everywhere. `US` means the
// United States, not North America: a user who pins a deployment to `US` is stating where it may
// run (data residency, latency to US users), and `NA_BRITISHCOLUMBIA_1` is in Canada. Regions of no
// multi-region (today only `NA_*`) are reachable through GLOBAL, `region` or `regions`.

/** Region-name prefix of each multi-region that narrows placement (GLOBAL does not). */
export const MULTI_REGION_PREFIXES: Readonly<Record<string, string>> = { US: 'US_', EUROPE: 'EU_', APAC: 'AP_' };

/**
 * A predicate for the regions of a multi-region, or undefined when it does not narrow placement
 * (unset, GLOBAL, or a name this catalog does not know — the schema rejects those on input).
 */
export function multiRegionFilter(multiRegion: string | undefined): ((region: string) => boolean) | undefined {
  const prefix = multiRegion === undefined ? undefined : MULTI_REGION_PREFIXES[multiRegion];
  if (prefix === undefined) return undefined;
  return (region) => region.startsWith(prefix);
}

/** Whether `region` is in `multiRegion` (everything is in GLOBAL). */
export function inMultiRegion(multiRegion: string | undefined, region: string): boolean {
  return multiRegionFilter(multiRegion)?.(region) ?? true;
}
