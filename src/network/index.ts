export { startNetworkServer, type NetworkServer, type StartNetworkServerOptions } from './server.js'
export { TIERS, type NetworkLimits, type NetworkServerOptions, type Tier } from './options.js'
export type { IntegrityState, Quality } from './integrity.js'
export type { AccountView } from './control-routes.js'
