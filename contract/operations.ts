/**
 * The API's contract: every endpoint, keyed `METHOD /path/:param`, with the schemas of what it
 * takes and what it answers. The node's routes parse with these schemas and must answer their
 * types (node/api/route.ts); a node refuses to start with a route this table lacks; the OpenAPI
 * document (`GET /api/openapi.json`) is built from it; the web app's client and the monitor take
 * their types from it (client/api.ts). Errors all share one shape (`errorAnswer`).
 */
import { z } from 'zod';
import * as accounts from './accounts';
import * as booking from './booking';
import * as cluster from './cluster';
import * as gateway from './gateway';
import * as replication from './replication';
import { idParam, okAnswer, uuid } from './shapes';

export const TAGS = {
  catalog: 'Movies, screens, showtimes and the seat map',
  reservations: 'Holds and bookings',
  accounts: 'Sign up, log in, sessions',
  health: 'Liveness, readiness and the node’s own view of the cluster',
  cluster: 'Clocks, the election and fault injection (chaos)',
  replication: 'The replicas and their settings',
  gateway: 'The load balancer (answered by the gateway itself)',
  peer: 'Node-to-node messages (signed; refused at the gateway)',
  contract: 'This document',
  operations: 'Prometheus metrics: each node’s on its own port, the gateway’s on its port',
} as const;

export type Operation = {
  summary: string;
  tag: keyof typeof TAGS;
  /** Who may call it: anyone (absent), a logged-in user, or an administrator. */
  auth?: 'user' | 'admin';
  params?: z.ZodObject;
  query?: z.ZodType;
  headers?: z.ZodObject;
  body?: z.ZodType;
  /** The status of a success (200 unless said). */
  status?: 200 | 201;
  /** The JSON of a success; for a stream, the data of its `seats` events. */
  answer: z.ZodType;
  /** What a success is, when not one JSON answer: a Server-Sent Events stream, or plain text. */
  media?: 'text/event-stream' | 'text/plain';
  /** Peer-only: a signed envelope in, a signed envelope out (docs/cluster.md, "Peer messages"). */
  envelope?: true;
};

const byId = z.object({ id: idParam });
const byUuid = z.object({ id: uuid });

export const operations = {
  // ---- health ----
  'GET /api/health/live': {
    tag: 'health',
    summary: 'Liveness: the process answers',
    answer: cluster.liveAnswer,
  },
  'GET /api/health/ready': {
    tag: 'health',
    summary:
      'Readiness: database up, cluster joined, replica loaded, not stopping (else 503 NOT_READY)',
    answer: cluster.readyAnswer,
  },
  'GET /api/health': {
    tag: 'health',
    summary:
      'This node, its load, its database and every node it knows (503 while its database is down)',
    answer: cluster.healthAnswer,
  },
  'GET /api/ping': {
    tag: 'health',
    summary: 'The cheapest answer (which node served it)',
    answer: cluster.pingAnswer,
  },

  // ---- accounts ----
  'POST /api/auth/signup': {
    tag: 'accounts',
    summary: 'Create an account and log in',
    body: accounts.signupBody,
    status: 201,
    answer: accounts.sessionAnswer,
  },
  'POST /api/auth/login': {
    tag: 'accounts',
    summary: 'Log in',
    body: accounts.loginBody,
    answer: accounts.sessionAnswer,
  },
  'POST /api/auth/logout': { tag: 'accounts', summary: 'End this session', answer: okAnswer },
  'GET /api/auth/me': {
    tag: 'accounts',
    auth: 'user',
    summary: 'Who is logged in',
    answer: accounts.meAnswer,
  },

  // ---- catalogue ----
  'GET /api/movies': {
    tag: 'catalog',
    summary: 'Movies with their next showtime; `?search=`, `?genre=`, or `?id=` for one movie',
    query: booking.movieQuery,
    answer: booking.movieListAnswer,
  },
  'GET /api/movies/:id': {
    tag: 'catalog',
    summary: 'One movie and its upcoming showtimes',
    params: byId,
    answer: booking.movieAnswer,
  },
  'POST /api/movies': {
    tag: 'catalog',
    auth: 'admin',
    summary: 'Add a movie',
    body: booking.movieBody,
    headers: booking.writeHeaders,
    status: 201,
    answer: booking.movieCreated,
  },
  'GET /api/screens': {
    tag: 'catalog',
    summary: 'Screens and their seat layouts',
    answer: booking.screensAnswer,
  },
  'POST /api/showtimes': {
    tag: 'catalog',
    auth: 'admin',
    summary: 'Schedule a showtime (its seats come from the screen’s layout)',
    body: booking.showtimeBody,
    headers: booking.writeHeaders,
    status: 201,
    answer: booking.showtimeCreated,
  },
  'GET /api/showtimes/:id': {
    tag: 'catalog',
    summary: 'The seat map, read from the replicas at the consistency asked for',
    params: byId,
    query: z.object({ consistency: booking.consistency.optional() }),
    headers: booking.readHeaders,
    answer: booking.seatMap,
  },
  'GET /api/showtimes/:id/events': {
    tag: 'catalog',
    summary: 'The live seat map: Server-Sent Events, one `seats` event per change',
    params: byId,
    answer: booking.seatsEvent,
    media: 'text/event-stream',
  },

  // ---- reservations ----
  'POST /api/holds': {
    tag: 'reservations',
    auth: 'user',
    summary: 'Hold seats for a few minutes',
    body: booking.holdBody,
    headers: booking.writeHeaders,
    status: 201,
    answer: booking.holdCreated,
  },
  'DELETE /api/holds/:id': {
    tag: 'reservations',
    auth: 'user',
    summary: 'Release a hold',
    params: byUuid,
    headers: booking.writeHeaders,
    answer: booking.holdReleased,
  },
  'POST /api/bookings': {
    tag: 'reservations',
    auth: 'user',
    summary: 'Book held seats ({ holdId }) or seats at once ({ showtimeId, seats }); a key replays',
    body: booking.bookingBody,
    headers: booking.bookingHeaders,
    status: 201,
    answer: booking.bookingChanged,
  },
  'GET /api/bookings': {
    tag: 'reservations',
    auth: 'user',
    summary: 'My bookings (an administrator may ask for `?userId=`)',
    query: booking.bookingsQuery.extend({ consistency: booking.consistency.optional() }),
    headers: booking.readHeaders,
    answer: booking.bookingsAnswer,
  },
  'GET /api/bookings/:id': {
    tag: 'reservations',
    auth: 'user',
    summary: 'One booking',
    params: byUuid,
    answer: booking.bookingAnswer,
  },
  'POST /api/bookings/:id/cancel': {
    tag: 'reservations',
    auth: 'user',
    summary: 'Cancel a booking (its seats are free again)',
    params: byUuid,
    headers: booking.writeHeaders,
    answer: booking.bookingChanged,
  },

  // ---- cluster ----
  'GET /api/sync': {
    tag: 'cluster',
    summary: 'Lamport and vector clocks, the physical clock, and the Berkeley rounds',
    answer: cluster.syncAnswer,
  },
  'POST /api/cluster/sync-now': {
    tag: 'cluster',
    auth: 'admin',
    summary: 'Run a Berkeley round now (the leader only, else 409 NOT_LEADER)',
    answer: cluster.syncNowAnswer,
  },
  'GET /api/election': {
    tag: 'cluster',
    summary: 'The leader, the epoch and the recent elections',
    answer: cluster.electionAnswer,
  },
  'POST /api/election': {
    tag: 'cluster',
    auth: 'admin',
    summary:
      'Run an election with an algorithm (the cluster switches to it), from this node or `nodeId`',
    body: cluster.electionBody,
    answer: cluster.electionTriggered,
  },
  'GET /api/faults': {
    tag: 'cluster',
    auth: 'admin',
    summary: 'This node’s injected faults',
    answer: cluster.faultsAnswer,
  },
  'POST /api/faults': {
    tag: 'cluster',
    auth: 'admin',
    summary:
      'Inject or heal faults on this node: partitions, delays, a pause, clock skew, slowness',
    body: cluster.faultsBody,
    answer: cluster.faultsAnswer,
  },
  'POST /api/cluster/fenced-write-probe': {
    tag: 'cluster',
    auth: 'admin',
    summary:
      'Try a leader-only write with the epoch this node last led (the fencing register decides)',
    answer: cluster.fencedWriteProbeAnswer,
  },
  'POST /api/cluster/crash': {
    tag: 'cluster',
    auth: 'admin',
    summary:
      'Crash this node right after answering (optionally restarted by `npm start`’s launcher)',
    body: cluster.crashBody,
    answer: cluster.crashAnswer,
  },
  'POST /api/peer': {
    tag: 'peer',
    summary: 'One signed message from a peer node',
    answer: z.unknown(),
    envelope: true,
  },

  // ---- replication ----
  'GET /api/replicas': {
    tag: 'replication',
    summary: 'Every live node’s replica, with lag against the most advanced one',
    answer: replication.replicasAnswer,
  },
  'POST /api/replicas': {
    tag: 'replication',
    auth: 'admin',
    summary: 'Change the replication mode and N/R/W at runtime',
    body: replication.replicationSettingsBody,
    answer: replication.replicationSettingsChanged,
  },

  // ---- the gateway ----
  'GET /api/lb': {
    tag: 'gateway',
    summary: 'The balancer: algorithm, weights, each node’s traffic',
    answer: gateway.lbStats,
  },
  'POST /api/lb': {
    tag: 'gateway',
    auth: 'admin',
    summary: 'Switch the balancing algorithm or set static weights',
    body: gateway.lbSettingsBody,
    answer: gateway.lbStats,
  },

  'GET /metrics': {
    tag: 'operations',
    summary: 'Prometheus metrics in the text format (docs/operations.md lists them)',
    answer: z.string(),
    media: 'text/plain',
  },
  'GET /api/openapi.json': {
    tag: 'contract',
    summary: 'This OpenAPI 3.1 document',
    answer: z.record(z.string(), z.unknown()),
  },
} as const satisfies Record<string, Operation>;

export type Operations = typeof operations;
export type OperationKey = keyof Operations;

/** What a success of `K` answers (its JSON, as the client receives it). */
export type AnswerOf<K extends OperationKey> = z.output<Operations[K]['answer']>;

type Field<K extends OperationKey, F extends string> =
  Operations[K] extends Record<F, z.ZodType> ? Operations[K][F] : never;
/** What `K` takes as its JSON body, as the client sends it. */
export type BodyOf<K extends OperationKey> = z.input<Field<K, 'body'>>;
/** What `K` takes in its query string. */
export type QueryOf<K extends OperationKey> = z.input<Field<K, 'query'>>;

type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParams<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;
/** The `:param`s of `K`'s path, as the client fills them in. */
export type ParamsOf<K extends OperationKey> = { [Name in PathParams<K>]: string | number };
