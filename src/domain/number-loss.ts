/**
 * A number this deployment registered whose registration the network no longer accepts:
 * another install registered it with `migrate: true`, or the network forgot it. The CoreApp
 * marks it `unregistered` but keeps its old (dead) network credentials, which is what tells it
 * apart from a number that was never registered.
 */
export function registrationLost(number: { status: string; network_secret: unknown }): boolean {
  return number.status === 'unregistered' && number.network_secret !== null
}

/** What to do about a lost number, for the log and for `/v1/health`. */
export function registrationLostDetails(waId: string): string {
  return `+${waId} is no longer registered on the network for this install: another install registered it ` +
    '(or the network no longer knows it), so this one can neither send nor receive for it. To take it back, ' +
    'register it again here with POST /v1/account and "migrate": true (the other install then loses it)'
}
