import { PROTOCOL_VERSION, type BsuidResolveResult, type ClientFrame, type PreKeyBundleWire, type TypingSendResult } from '../wire/frames.js'
import { shardOf } from '../domain/shard.js'
import type { Account } from './accounts.js'
import { waIdOf } from './accounts.js'
import type { Connection, NetworkServices } from './connection.js'
import { WireFailure } from './wire-failure.js'

/**
 * What each request does; the promise resolves to the ack's `result`. Must reach the
 * write batcher synchronously where order matters (envelope.send), so frames from one
 * connection are stored in the order they arrived.
 */
export function handleRequest(conn: Connection, frame: ClientFrame, s: NetworkServices): Promise<unknown> {
  switch (frame.t) {
    case 'register.request':
      return s.memo.run(memoKey(`reg:${waIdOf(frame.cc, frame.phone)}`, frame), () => s.accounts.requestCode(frame))
    case 'register.verify':
      return s.memo.run(memoKey(`reg:${waIdOf(frame.cc, frame.phone)}`, frame), () => s.accounts.verify(frame))
    case 'login':
      throw new Error('login is handled by the connection')
  }
  const account = conn.account
  if (!account) throw new WireFailure('unauthorized', 'log in first')
  switch (frame.t) {
    case 'account.pin':
      return s.memo.run(memoKey(account.waId, frame), () => s.accounts.setPin(account.waId, frame.pin))
    case 'keys.upload':
      return s.keys.upload(account.waId, frame)
    case 'keys.get':
      return s.memo.run(memoKey(account.waId, frame), () => takeBundle(s, frame.waId))
    case 'envelope.send': {
      checkCounterparty(conn, account, frame.to, s)
      let sent = s.relay.send(account, frame)
      if (frame.templateId !== undefined && account.business) {
        const templateId = frame.templateId
        sent = sent.then(async (result) => {
          if (!result.duplicate) await s.templates.quality.sent(account.waId, frame.to, templateId)
          return result
        })
      }
      const toUserId = s.userIds.towards(account, frame.to)
      return toUserId ? sent.then((result) => ({ ...result, toUserId })) : sent
    }
    case 'envelope.ack':
      return s.relay.ack(account.waId, frame.envelopeIds)
    case 'receipt.send':
      checkCounterparty(conn, account, frame.to, s)
      return s.memo.run(memoKey(account.waId, frame), () => s.relay.sendReceipt(account.waId, frame))
    case 'receipt.ack':
      return s.relay.ackReceipts(account.waId, frame.receiptIds)
    case 'account.update.ack':
      return s.relay.ackUpdates(account.waId, frame.updateIds)
    case 'templates.get':
      return s.templates.join(account, frame.waba).then(() => s.templates.pack(account))
    case 'templates.create':
      return s.memo.run(memoKey(account.waId, frame), async () => (await s.templates.join(account, frame.waba), s.templates.submit(account, frame.template)))
    case 'templates.update':
      return s.memo.run(memoKey(account.waId, frame), async () => (await s.templates.join(account, frame.waba), s.templates.edit(account, frame.templateId, frame.changes)))
    case 'templates.delete':
      return s.memo.run(memoKey(account.waId, frame), async () => {
        await s.templates.join(account, frame.waba)
        return { deleted: await s.templates.deleteByName(account, frame.name, frame.templateId) }
      })
    case 'contacts.check':
      return Promise.resolve(s.accounts.check(frame.phones))
    case 'bsuid.resolve':
      return Promise.resolve(resolveUserId(account, frame.userId, s))
    case 'typing.send': {
      checkCounterparty(conn, account, frame.to, s)
      // a user who blocked the business sees nothing of it, this neither
      if (account.business && s.integrity.isBlocked(account.waId, frame.to)) return Promise.resolve({ delivered: false } satisfies TypingSendResult)
      const delivered = s.router.pushLive(frame.to, account.waId, { v: PROTOCOL_VERSION, t: 'typing', from: account.waId, timestamp: s.clock.now() })
      return Promise.resolve({ delivered } satisfies TypingSendResult)
    }
    case 'feedback':
      return s.memo.run(memoKey(account.waId, frame), async () => {
        // a second block of a blocked business changes nothing
        const repeated = frame.kind === 'block' && s.integrity.isBlocked(frame.waId, account.waId)
        await s.integrity.feedback(account.waId, s.accounts.get(frame.waId), frame.kind)
        if (!repeated) await s.templates.quality.feedback(frame.waId, account.waId, frame.kind)
      })
  }
}

function memoKey(principal: string, frame: ClientFrame): string {
  return `${principal}\0${frame.t}\0${frame.id}`
}

/** The addressee exists and belongs to this connection's shard. */
function checkCounterparty(conn: Connection, account: Account, to: string, s: NetworkServices): void {
  if (to === account.waId) throw new WireFailure('bad_request', 'cannot send to yourself')
  if (!s.accounts.get(to)) throw new WireFailure('not_registered', `${to} is not on the network`)
  if (shardOf(to, conn.shards) !== conn.shard) {
    throw new WireFailure('wrong_shard', `${to} belongs to shard ${shardOf(to, conn.shards)} of ${conn.shards}, this connection owns shard ${conn.shard}`)
  }
}

function resolveUserId(account: Account, userId: string, s: NetworkServices): BsuidResolveResult {
  if (!account.business) throw new WireFailure('bad_request', 'only business numbers have business-scoped user ids')
  const waId = s.userIds.resolve(account.waId, userId)
  if (!waId) throw new WireFailure('not_found', `no user of the network has the business-scoped user id ${userId} towards ${account.waId}`)
  return { waId }
}

async function takeBundle(s: NetworkServices, waId: string): Promise<PreKeyBundleWire> {
  if (!s.accounts.get(waId)) throw new WireFailure('not_registered', `${waId} is not on the network`)
  const { bundle, preKeysLeft } = await s.keys.take(waId)
  if (preKeysLeft < s.limits.preKeysLowThreshold) {
    s.router.primary(waId)?.send({ v: PROTOCOL_VERSION, t: 'keys.low', preKeysLeft })
  }
  return bundle
}
