import path from 'node:path'
import type { Config } from '../config/config.js'
import { WrongAtRestKeyError } from '../store/at-rest-check.js'
import { BadKeyFileError } from '../store/sealer.js'
import { CliError, codedCause, errorLine } from './cli-error.js'

/**
 * Startup failures in words a user can act on: each names the cause, the setting involved
 * and the fix. The original error stays attached as `cause`.
 */

const DATA_DIR_FIX = 'choose a directory this user can write with --data-dir (WABOX_DATA_DIR)'

/** Opening the data directory, the database, the master key. */
export function storeStartupError(err: unknown, config: Config): CliError {
  if (err instanceof CliError) return err
  const line = (text: string) => new CliError(text, 1, { cause: err })
  if (err instanceof BadKeyFileError) return line(err.message)
  if (err instanceof WrongAtRestKeyError) {
    return line(config.masterKey
      ? 'WABOX_MASTER_KEY is not the key this database was encrypted with: set it to the key the database was created with (or unset it if the data directory\'s master.key is that key)'
      : `${path.join(config.dataDir, 'master.key')} is not the key this database was encrypted with (replaced file, or a database of another install?): restore the original master.key, or set WABOX_MASTER_KEY to the database's key`)
  }
  if (config.databaseUrl) return serverDatabaseError(err, config.databaseUrl)
  const cause = codedCause(err)
  const file = path.join(config.dataDir, 'wabox.db')
  switch (cause.code) {
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return line(`${file} is not a readable SQLite database (${cause.message}): restore it from a backup, or move it away to start with an empty one`)
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_READONLY':
    case 'SQLITE_PERM':
      return line(`cannot write ${file} (${cause.message}): check its owner and permissions, or ${DATA_DIR_FIX}`)
  }
  const fsPath = (cause as NodeJS.ErrnoException).path
  if (fsPath) return line(`cannot use the data directory ${config.dataDir} (${cause.code} on ${fsPath}): ${DATA_DIR_FIX}`)
  return line(`cannot open the database ${file}: ${errorLine(err)}`)
}

function serverDatabaseError(err: unknown, url: string): CliError {
  const cause = codedCause(err)
  const parsed = new URL(url)
  const mysql = parsed.protocol === 'mysql:'
  const engine = mysql ? 'MySQL/MariaDB' : 'PostgreSQL'
  const at = `${engine} at ${parsed.hostname}:${parsed.port || (mysql ? 3306 : 5432)}`
  const fix = 'fix --database-url (WABOX_DATABASE_URL)'
  const line = (text: string) => new CliError(text, 1, { cause: err })
  switch (cause.code) {
    case 'ECONNREFUSED':
      return line(`${at} refused the connection: start ${engine} there, or ${fix}`)
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return line(`the ${engine} host '${parsed.hostname}' does not resolve: ${fix}`)
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return line(`${at} cannot be reached (${cause.code}): check the host, port and firewall, or ${fix}`)
    case '28P01':
    case '28000':
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      return line(`${at} refused the login (${cause.message}): fix the user or password in --database-url (WABOX_DATABASE_URL)`)
    case '3D000':
      return line(`${at}: ${cause.message}: create it (createdb ${parsed.pathname.slice(1)}), or ${fix}`)
    case 'ER_BAD_DB_ERROR':
      return line(`${at}: ${cause.message}: create it (CREATE DATABASE ${parsed.pathname.slice(1)} CHARACTER SET utf8mb4), or ${fix}`)
  }
  if (/timeout/i.test(cause.message)) return line(`${at} did not answer in time: check the host, port and firewall, or ${fix}`)
  return line(`${at}: ${errorLine(cause)}`)
}

export interface Listener {
  /** 'the API', 'the built-in network' */
  what: string
  host: string
  port: number
  hostFlag: string
  portFlag: string
}

/** A server that could not listen (or set itself up to). */
export function listenStartupError(err: unknown, l: Listener): CliError {
  if (err instanceof CliError) return err
  const cause = codedCause(err)
  const line = (text: string) => new CliError(text, 1, { cause: err })
  switch (cause.code) {
    case 'EADDRINUSE':
      return line(`${l.what} cannot listen on ${l.host}:${l.port}: the port is in use by another process; stop it, or choose another ${l.portFlag} (0 picks a free port)`)
    case 'EADDRNOTAVAIL':
      return line(`${l.what} cannot listen on ${l.host}: it is not an address of this machine; use one of its addresses (127.0.0.1, 0.0.0.0 for all) with ${l.hostFlag}`)
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return line(`${l.what} cannot listen on ${l.host}: the host name does not resolve; use an IP address or a resolvable name with ${l.hostFlag}`)
    case 'EACCES':
      return line(`${l.what} may not listen on port ${l.port} (ports below 1024 need privileges): choose another ${l.portFlag}`)
  }
  return line(`${l.what} could not start on ${l.host}:${l.port}: ${errorLine(err)}`)
}

/** First-start provisioning (demo number, template, phones) failed. */
export function provisionStartupError(err: unknown, external: boolean): CliError {
  if (err instanceof CliError) return err
  const fix = external
    ? 'check the network\'s control URL and token (--network-control-url, --network-control-token) and start again'
    : 'fix the cause and start again (provisioning resumes where it stopped)'
  return new CliError(`first-start provisioning failed: ${errorLine(err)}; ${fix}`, 1, { cause: err })
}
