// Capacity reservations (the Fireworks `Reservation`): created by operators, read by accounts.
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../client.js';
import { AlreadyExistsError } from '../errors.js';
import { capacityReservations, type CapacityReservationRow, type NewCapacityReservationRow } from '../schema/index.js';
import { reservationName } from './names.js';

export async function createReservation(db: Db, values: NewCapacityReservationRow): Promise<CapacityReservationRow> {
  const [row] = await db.insert(capacityReservations).values(values).onConflictDoNothing().returning();
  if (!row) throw new AlreadyExistsError('reservation', reservationName(values.accountId, values.reservationId));
  return row;
}

export async function getReservation(db: Db, accountId: string, reservationId: string): Promise<CapacityReservationRow | undefined> {
  const [row] = await db
    .select()
    .from(capacityReservations)
    .where(and(eq(capacityReservations.accountId, accountId), eq(capacityReservations.reservationId, reservationId)));
  return row;
}

export async function listReservations(db: Db, accountId: string): Promise<CapacityReservationRow[]> {
  return db
    .select()
    .from(capacityReservations)
    .where(eq(capacityReservations.accountId, accountId))
    .orderBy(asc(capacityReservations.reservationId));
}
