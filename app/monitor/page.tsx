import type { Metadata } from 'next';
import { SystemMonitor } from '@/components/monitor/monitor';

export const metadata: Metadata = { title: 'System monitor' };

export default function MonitorPage() {
  return <SystemMonitor />;
}
