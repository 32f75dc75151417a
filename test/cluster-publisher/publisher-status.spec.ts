import test from 'ava'
import { LeadFailedError } from '../../cluster-publisher/leadership-transitions.js'
import { notReadyReason, type PublisherStatusParts } from '../../cluster-publisher/publisher-status.js'

function parts (state: { failure?: Error, synced?: boolean, leading?: boolean, published?: boolean, lastError?: string }): Pick<PublisherStatusParts, 'leadership' | 'controller' | 'source'> {
  return {
    leadership: { leading: () => state.leading ?? true, failure: () => state.failure === undefined ? undefined : new LeadFailedError(state.failure) },
    controller: { view: () => ({ fragments: [], skipped: [], pending: [], published: state.published ?? true, lastError: state.lastError ?? null }), pinned: () => undefined },
    source: { synced: () => state.synced ?? true }
  }
}

test('readiness: a failed win is named first, then an unsynced source, then a leader that has published nothing', t => {
  t.is(notReadyReason(parts({ failure: new Error('cannot listen on /ip4/0.0.0.0/tcp/4001: EADDRINUSE'), synced: false, leading: false })), 'could not become the publisher: cannot listen on /ip4/0.0.0.0/tcp/4001: EADDRINUSE')
  t.is(notReadyReason(parts({ synced: false })), 'fragment source not synced yet')
  t.is(notReadyReason(parts({ synced: false, lastError: 'configmaps: 403 Forbidden' })), 'configmaps: 403 Forbidden')
  t.is(notReadyReason(parts({ published: false })), 'no config published yet')
  t.is(notReadyReason(parts({ published: false, leading: false })), undefined, 'a follower is ready without publishing')
  t.is(notReadyReason(parts({})), undefined)
})
