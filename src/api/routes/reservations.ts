// Reservations (PostgreSQL `capacity_reservations`): list and get. Read-only: reservations are
// sales-managed (no create/update/delete is published); operators create them with
// src/db/repositories/reservations.ts (see ../README.md).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { getReservation, listReservations } from '../../db/repositories/reservations.js';
import { COLLECTION, RESERVATION_FIELDS, ReservationResponse, reservationToWire } from '../mappers/reservation.js';
import { resourceNotFound } from '../collections/names.js';
import { listPage } from '../wire/pagination.js';
import { AccountParams, ListQuery, ReadMaskQuery, errorResponses, listResponse, listResponseSchema, masked } from './common.js';

const ReservationParams = AccountParams.extend({ reservationId: z.string().describe('The reservation id.') });

const reservations: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.hearth;

  app.get('/accounts/:accountId/reservations', {
    schema: {
      summary: 'List Reservations',
      description: 'Filter and order on any Reservation field, e.g. `filter=region = US_VIRGINIA_2 AND acceleratorType = NVIDIA_H100_80GB`, `orderBy=endTime desc`. Default order: name.',
      tags: ['Reservations'],
      operationId: 'Gateway_ListReservations',
      params: AccountParams,
      querystring: ListQuery,
      response: { 200: listResponseSchema(COLLECTION, ReservationResponse), ...errorResponses },
    },
    handler: async (request) => {
      const { accountId } = request.params;
      const all = (await listReservations(db, accountId)).map(reservationToWire);
      const page = listPage(all, request.query, {
        binding: { parent: `accounts/${accountId}/${COLLECTION}` },
        codec: app.hearth.pageTokens,
        defaultOrderBy: 'name',
        filterFields: RESERVATION_FIELDS,
        orderByFields: RESERVATION_FIELDS,
      });
      return listResponse(COLLECTION, page.items.map((r) => masked(r, request.query.readMask)), page);
    },
  });

  app.get('/accounts/:accountId/reservations/:reservationId', {
    schema: {
      summary: 'Get Reservation',
      tags: ['Reservations'],
      operationId: 'Gateway_GetReservation',
      params: ReservationParams,
      querystring: ReadMaskQuery,
      response: { 200: ReservationResponse, ...errorResponses },
    },
    handler: async (request) => {
      const { accountId, reservationId } = request.params;
      const r = await getReservation(db, accountId, reservationId);
      if (!r) throw resourceNotFound(accountId, COLLECTION, reservationId);
      return masked(reservationToWire(r), request.query.readMask);
    },
  });
};

export default reservations;
