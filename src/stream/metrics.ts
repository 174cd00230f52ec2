import { Counter, Gauge, type Registry } from 'prom-client';

/** What replays report to Prometheus, by transport (http, tcp). */
export function replayMetrics(registry: Registry) {
  const registers = [registry];
  return {
    replayFrames: new Counter({ name: 'booktape_replay_frames_total', help: 'Replay frames sent', labelNames: ['transport'], registers }),
    replayBytes: new Counter({ name: 'booktape_replay_bytes_total', help: 'Replay bytes sent', labelNames: ['transport'], registers }),
    activeStreams: new Gauge({ name: 'booktape_replay_active_streams', help: 'Replay streams open now', labelNames: ['transport'], registers }),
  };
}
export type ReplayMetrics = ReturnType<typeof replayMetrics>;
