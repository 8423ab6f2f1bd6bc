export default function BookingsPage() {
  return <p className="text-slate-400">Your bookings will appear here.</p>;
}
