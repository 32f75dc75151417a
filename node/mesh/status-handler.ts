import { statusTopic } from '../constants.js'
import { decodeAnnouncement, type PeerAnnouncement } from '../peer-announcement.js'
import type { TopicHandler } from './topic-handler.js'

export interface StatusHandlerInit {
  mesh: string
  onAnnouncement: (announcement: PeerAnnouncement) => void
}

/**
 * Validates edges' status announcements: malformed ones, or ones about
 * another peer than their author, are rejected; older ones from the same
 * peer are ignored.
 */
export function statusHandler (init: StatusHandlerInit): TopicHandler {
  const newest = new Map<string, number>()
  return {
    topic: statusTopic(init.mesh),
    validate (data, from) {
      let announcement: PeerAnnouncement
      try {
        announcement = decodeAnnouncement(data, from)
      } catch {
        return 'reject'
      }
      const at = Date.parse(announcement.announcedAt)
      if (at <= (newest.get(announcement.peerId) ?? 0)) return 'ignore'
      newest.set(announcement.peerId, at)
      init.onAnnouncement(announcement)
      return 'accept'
    }
  }
}
