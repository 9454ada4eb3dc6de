import type { NumberInfo } from './api'

const LEVELS = { phone: 'phone number override', waba: 'WABA override', app: 'app subscription', number_setting: 'number setting' } as const

function successRate(n: NumberInfo): string {
  const { attempts, succeeded } = n.delivery
  return attempts === 0 ? 'no deliveries' : `${Math.round((100 * succeeded) / attempts)}% of ${attempts}`
}

/** Every number: platform, health, webhook and how its deliveries went in the last 15 minutes. */
export function NumbersPage({ numbers }: { numbers: NumberInfo[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption>Business numbers of this deployment</caption>
        <thead>
          <tr>
            <th scope="col">Number</th>
            <th scope="col">Platform</th>
            <th scope="col">Region</th>
            <th scope="col">Status</th>
            <th scope="col">Health</th>
            <th scope="col">Quality, tier</th>
            <th scope="col">Webhook</th>
            <th scope="col">Deliveries (15 min)</th>
            <th scope="col">Backlog</th>
          </tr>
        </thead>
        <tbody>
          {numbers.map((n) => {
            const healthy = n.status === 'registered' && n.health === 'connected'
            return (
              <tr key={n.id} data-number={n.waId}>
                <th scope="row">{n.displayName}<br /><small>+{n.waId} · id {n.id}</small></th>
                <td>{n.platform === 'CLOUD_API' ? 'Cloud API' : 'On-Premises'}</td>
                <td data-region={n.region ?? ''}>{n.region ?? <em>home</em>}</td>
                <td>{n.status}</td>
                <td><span class={`badge ${healthy ? 'ok' : 'bad'}`} data-health={healthy ? 'healthy' : 'unhealthy'}>{healthy ? 'healthy' : n.health}</span></td>
                <td>{n.quality}{n.tier ? `, ${n.tier}` : ''}</td>
                <td class="url">{n.webhookUrl ?? <em>none</em>}{n.webhookLevel && <><br /><small>{LEVELS[n.webhookLevel]}</small></>}</td>
                <td>{successRate(n)}</td>
                <td>{n.backlog.pending} pending, {n.backlog.dead} dead</td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
