import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { api, useLive, type ChartPoint } from './api'

interface Series {
  label: string
  value: (p: ChartPoint) => number | null
  stroke: string
}

const CHARTS: { title: string; unit: string; series: Series[] }[] = [
  { title: 'Messages per second', unit: 'msg/s', series: [
    { label: 'accepted', value: (p) => p.acceptedPerS, stroke: '#1b7f5b' },
    { label: 'delivered', value: (p) => p.deliveredPerS, stroke: '#2563eb' },
  ] },
  { title: 'Accept latency', unit: 'ms', series: [
    { label: 'p50', value: (p) => p.acceptP50Ms, stroke: '#1b7f5b' },
    { label: 'p99', value: (p) => p.acceptP99Ms, stroke: '#b45309' },
  ] },
  { title: 'Callback backlog', unit: 'callbacks', series: [{ label: 'pending', value: (p) => p.backlog, stroke: '#7c3aed' }] },
  { title: 'Webhook success', unit: '%', series: [{ label: 'answered 200', value: (p) => (p.webhookSuccess === null ? null : 100 * p.webhookSuccess), stroke: '#1b7f5b' }] },
]

function Chart({ title, unit, series, points }: (typeof CHARTS)[number] & { points: ChartPoint[] }) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const data = [points.map((p) => p.at / 1000), ...series.map((s) => points.map(s.value))] as uPlot.AlignedData
  useEffect(() => {
    if (!box.current) return
    const width = Math.min(560, box.current.clientWidth || 560)
    plot.current = new uPlot({
      width, height: 180,
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2 }))],
      axes: [{}, { label: unit }],
    }, data, box.current)
    return () => plot.current?.destroy()
  }, [])
  useEffect(() => plot.current?.setData(data), [points])
  const last = points[points.length - 1]
  const now = last ? series.map((s) => `${s.label} ${s.value(last)?.toFixed(1) ?? '–'}`).join(', ') : 'no samples yet'
  return (
    <figure class="chart">
      <figcaption>{title} <small>({now})</small></figcaption>
      <div ref={box} role="img" aria-label={`${title}, last 15 minutes: ${now}`} />
    </figure>
  )
}

/** The numbers of /metrics over the last 15 minutes, a point every 5 seconds while the Hub is open. */
export function ChartsPage() {
  const { data } = useLive(['metrics'], () => api<{ points: ChartPoint[] }>('GET', 'charts'))
  const points = data?.points ?? []
  return (
    <div class="charts">
      {CHARTS.map((c) => <Chart key={c.title} {...c} points={points} />)}
      <p class="note">Sampled every 5 seconds while a Hub page is open; the same counters as <code>/metrics</code>.</p>
    </div>
  )
}
