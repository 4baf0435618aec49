// PostgreSQL `capacity_reservations` rows → the Fireworks `Reservation` (gatewayReservation):
// purchased capacity of one accelerator type in one region or multi-region, for a time window.
// Read-only through the API (sales-managed; operators create rows with the repository).
import { z } from 'zod';
import { AcceleratorType, MultiRegion, Region } from '../../crds/common.js';
import type { CapacityReservationRow } from '../../db/schema/index.js';
import { reservationName } from '../../db/repositories/names.js';
import { omitUnset } from '../wire/omit.js';
import { formatTimestamp } from '../wire/timestamp.js';

export const COLLECTION = 'reservations';

const ts = z.string().describe('RFC 3339 timestamp.');

export const ReservationResponse = z
  .object({
    name: z.string().describe('accounts/{account}/reservations/{reservation}'),
    displayName: z.string().describe('Human-readable name, fewer than 64 characters.'),
    description: z.string(),
    createTime: ts,
    createdBy: z.string().describe('E-mail address of whoever created the reservation.'),
    region: Region.describe('The region; exactly one of region or multiRegion is set.'),
    multiRegion: MultiRegion.describe('The multi-region; exactly one of region or multiRegion is set.'),
    acceleratorType: AcceleratorType,
    reservedCount: z.int32().describe('The number of accelerators reserved.'),
    startTime: ts.describe('When the reservation starts (inclusive).'),
    endTime: ts.describe('When the reservation ends (exclusive).'),
    updateTime: ts,
  })
  .partial()
  .describe('A Fireworks Reservation: purchased accelerator capacity, consumed automatically by matching deployments.');

/** Field paths a list may filter and order on (every field of the wire resource). */
export const RESERVATION_FIELDS = Object.keys(ReservationResponse.shape);

export function reservationToWire(r: CapacityReservationRow): Record<string, unknown> {
  return omitUnset({
    name: reservationName(r.accountId, r.reservationId),
    displayName: r.displayName,
    description: r.description,
    createTime: formatTimestamp(r.createTime),
    createdBy: r.createdBy,
    region: r.region ?? undefined,
    multiRegion: r.multiRegion ?? undefined,
    acceleratorType: r.acceleratorType,
    reservedCount: r.reservedCount,
    startTime: formatTimestamp(r.startTime),
    endTime: formatTimestamp(r.endTime),
    updateTime: formatTimestamp(r.updateTime),
  });
}
