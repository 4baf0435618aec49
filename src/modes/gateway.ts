// Mode `gateway`: the inference edge /inference/v1/* (HEARTH_GATEWAY_* settings, port 8081).
import { gatewayConfig } from '../config.js';
import { startGateway } from '../gateway/index.js';
import type { Service, Shared } from './service.js';

export async function startGatewayMode({ config, log, database, informers, load, dial, simulated, gatewayUrl }: Shared): Promise<Service> {
  const gatewaySettings = gatewayConfig(config);
  // A simulated fleet (process.ts simulatedDialer, warned about there): the process's dial map.
  const dialTarget = simulated ? (ep: { address: string; port: number }) => dial(ep.address, ep.port) : undefined;
  // The gateway reads the process's informers: in mode `all` the controller's and the API's watches.
  const gateway = await startGateway(gatewaySettings, { informers, db: database.db, log, ...(load ? { loadReporter: load } : {}), ...(dialTarget ? { dialTarget } : {}) });
  log.info({ url: gateway.url }, 'gateway listening');
  gatewayUrl?.resolve(gateway.url);
  return { name: 'gateway', stop: () => gateway.close() };
}
