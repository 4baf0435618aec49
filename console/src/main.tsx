// The Hearth web console (issue 17 items 6–9): sign in with an API key, then views over the REST
// API. Routing by the URL's hash (#/deployments, #/deployments/<id>, …): the key is never in it.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentSession, signOut, type Session } from './api';
import { SignIn } from './views/sign-in';
import { Deployments, DeploymentTimeline } from './views/deployments';
import { FleetMap } from './views/fleet';
import { SftJobs } from './views/sft';
import { BatchJobs } from './views/batch';
import { Datasets } from './views/datasets';
import { Quotas } from './views/quotas';
import './style.css';

const NAV: [string, string][] = [
  ['#/deployments', 'Deployments'],
  ['#/fleet', 'Fleet'],
  ['#/sft', 'Fine-tuning'],
  ['#/batch', 'Batch jobs'],
  ['#/datasets', 'Datasets'],
  ['#/quotas', 'Quotas'],
];

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/deployments');
  useEffect(() => {
    const on = (): void => setHash(location.hash || '#/deployments');
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function View({ hash, session }: { hash: string; session: Session }) {
  const [, page, id] = hash.split('/');
  switch (page) {
    case 'deployments':
      return id ? <DeploymentTimeline session={session} id={decodeURIComponent(id)} /> : <Deployments session={session} />;
    case 'fleet':
      return <FleetMap session={session} />;
    case 'sft':
      return <SftJobs session={session} />;
    case 'batch':
      return <BatchJobs session={session} id={id ? decodeURIComponent(id) : undefined} />;
    case 'datasets':
      return <Datasets session={session} />;
    case 'quotas':
      return <Quotas session={session} />;
    default:
      return <p>Unknown page.</p>;
  }
}

function App() {
  const [session, setSession] = useState<Session | undefined>(currentSession());
  const hash = useHash();
  if (!session) return <SignIn onSignedIn={setSession} />;
  const current = `#/${hash.split('/')[1] ?? ''}`;
  return (
    <div class="shell">
      <header>
        <strong class="brand">Hearth</strong>
        <nav>
          {NAV.map(([href, label]) => (
            <a href={href} class={current === href ? 'active' : ''} data-testid={`nav-${href.slice(2)}`}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who" data-testid="account">
          accounts/{session.accountId}
        </span>
        <button
          type="button"
          data-testid="sign-out"
          onClick={() => {
            signOut();
            setSession(undefined);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <View hash={hash} session={session} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
