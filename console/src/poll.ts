// Live data for a view: loads at once, then every `everyMs` while the view is shown.
import { useEffect, useState } from 'preact/hooks';

export interface Polled<T> {
  data?: T;
  error?: string;
  loadedAt?: Date;
}

export function usePoll<T>(load: () => Promise<T>, everyMs: number, deps: unknown[] = []): Polled<T> {
  const [state, setState] = useState<Polled<T>>({});
  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async (): Promise<void> => {
      try {
        const data = await load();
        if (alive) setState({ data, loadedAt: new Date() });
      } catch (e) {
        if (alive) setState((s) => ({ ...s, error: (e as Error).message }));
      }
      if (alive) timer = setTimeout(() => void tick(), everyMs);
    };
    void tick();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, deps);
  return state;
}
