import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';

/** Path of the kubeconfig of the cluster the integration suite runs against (set by global-setup). */
export function kubeconfigPath(): string {
  return inject('kubeconfig');
}

/** A KubeConfig for the test cluster. */
export function testKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

/** The PostgreSQL URL the integration suite uses (DATABASE_URL or the local server). */
export function databaseUrl(): string {
  return inject('databaseUrl');
}

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    databaseUrl: string;
  }
}
