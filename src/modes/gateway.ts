// Mode `gateway`: the inference edge /inference/v1/* (HEARTH_GATEWAY_* settings, port 8081).
import { gatewayConfig } from '../config.js';
import { simulatedDialTarget, startGateway } from '../gateway/index.js';
import type { Service, Shared } from './service.js';

export async function startGatewayMode({ config, log, database, informers, load, gatewayUrl }: Shared): Promise<Service> {
  const gatewaySettings = gatewayConfig(config);
  const dialTarget = simulatedDialTarget(gatewaySettings);
  if (dialTarget) {
    log.warn(
      { upstream: gatewaySettings.simulatedUpstream },
      'HEARTH_GATEWAY_SIMULATED_UPSTREAM is set (demo/simulation only): every replica endpoint is dialled at this loopback address instead of its pod IP',
    );
  }
  // The gateway reads the process's informers: in mode `all` the controller's and the API's watches.
  const gateway = await startGateway(gatewaySettings, { informers, db: database.db, log, ...(load ? { loadReporter: load } : {}), ...(dialTarget ? { dialTarget } : {}) });
  log.info({ url: gateway.url }, 'gateway listening');
  gatewayUrl?.resolve(gateway.url);
  return { name: 'gateway', stop: () => gateway.close() };
}
