import { describe, expect, it } from 'vitest';
import { REGIONS as REGION_ENUM } from '../crds/common.js';
import { inMultiRegion, multiRegionFilter } from './multi-region.js';

describe('multi-regions', () => {
  it.each([
    { multiRegion: 'US', region: 'US_VIRGINIA_2', in: true },
    { multiRegion: 'US', region: 'US_NEWYORK_1', in: true },
    { multiRegion: 'US', region: 'NA_BRITISHCOLUMBIA_1', in: false },
    { multiRegion: 'US', region: 'EU_PARIS_1', in: false },
    { multiRegion: 'US', region: 'AP_TOKYO_1', in: false },
    { multiRegion: 'EUROPE', region: 'EU_FRANKFURT_1', in: true },
    { multiRegion: 'EUROPE', region: 'EU_ICELAND_DEV_1', in: true },
    { multiRegion: 'EUROPE', region: 'US_IOWA_1', in: false },
    { multiRegion: 'EUROPE', region: 'NA_BRITISHCOLUMBIA_1', in: false },
    { multiRegion: 'APAC', region: 'AP_MALAYSIA_1', in: true },
    { multiRegion: 'APAC', region: 'US_ARIZONA_1', in: false },
    { multiRegion: 'GLOBAL', region: 'NA_BRITISHCOLUMBIA_1', in: true },
    { multiRegion: 'GLOBAL', region: 'US_IOWA_1', in: true },
    { multiRegion: undefined, region: 'AP_TOKYO_1', in: true },
    { multiRegion: 'MULTI_REGION_UNSPECIFIED', region: 'EU_PARIS_1', in: true },
  ])('$multiRegion contains $region: $in', ({ multiRegion, region, in: want }) => {
    expect(inMultiRegion(multiRegion, region)).toBe(want);
  });

  it('GLOBAL and unset do not narrow placement; the others do', () => {
    expect(multiRegionFilter(undefined)).toBeUndefined();
    expect(multiRegionFilter('GLOBAL')).toBeUndefined();
    for (const m of ['US', 'EUROPE', 'APAC']) expect(multiRegionFilter(m)).toBeTypeOf('function');
  });

  it('puts every region the API accepts in at most one multi-region, and only NA_ regions in none', () => {
    const homeless: string[] = [];
    for (const r of REGION_ENUM) {
      const homes = ['US', 'EUROPE', 'APAC'].filter((m) => inMultiRegion(m, r));
      expect(homes.length, r).toBeLessThanOrEqual(1);
      if (homes.length === 0) homeless.push(r);
    }
    expect(homeless).toEqual(['NA_BRITISHCOLUMBIA_1']);
  });
});
