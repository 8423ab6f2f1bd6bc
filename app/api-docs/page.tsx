import type { Metadata } from 'next';
import { openApiPath, splitKey } from '@/contract/keys';
import { openApiDocument } from '@/contract/openapi';
import { operations, TAGS, type Operation } from '@/contract/operations';

export const metadata: Metadata = { title: 'API reference' };

type Schema = Record<string, unknown>;
type Parameter = { name: string; in: string; required: boolean; schema: Schema };
type DocumentedOperation = {
  parameters: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content: Record<string, { schema: Schema }> }>;
};

const BADGE = 'rounded-md px-2 py-0.5 text-xs ring-1';
const METHOD_COLORS: Record<string, string> = {
  GET: 'bg-sky-500/15 text-sky-300 ring-sky-500/30',
  POST: 'bg-emerald-500/15 text-emerald-300 ring-emerald-500/30',
  DELETE: 'bg-rose-500/15 text-rose-300 ring-rose-500/30',
};

/** A schema as a reader wants it: without the long patterns zod writes for dates. */
function readable(schema: Schema): string {
  return JSON.stringify(
    schema,
    (key, value: unknown) =>
      key === 'pattern' && typeof value === 'string' && value.length > 60 ? '…' : value,
    2,
  );
}

function typeOf(schema: Schema): string {
  if (Array.isArray(schema.enum)) return schema.enum.join(' | ');
  if (typeof schema.type === 'string')
    return schema.format ? `${schema.type} (${String(schema.format)})` : schema.type;
  return 'any';
}

function SchemaBlock({ title, schema }: { title: string; schema: Schema }) {
  return (
    <details className="mt-2 rounded-lg border border-slate-800 bg-slate-950/60">
      <summary className="cursor-pointer px-3 py-1.5 text-xs font-medium text-slate-300">
        {title}
      </summary>
      <pre className="max-h-96 overflow-auto px-3 pb-3 text-xs leading-relaxed text-slate-400">
        {readable(schema)}
      </pre>
    </details>
  );
}

function OperationEntry({
  opKey,
  op,
  documented,
}: {
  opKey: string;
  op: Operation;
  documented: DocumentedOperation;
}) {
  const [method, path] = splitKey(opKey);
  const success = documented.responses[String(op.status ?? 200)]!;
  const [media, answer] = Object.entries(success.content)[0]!;
  return (
    <li
      id={opKey.replace(/[^A-Za-z0-9]+/g, '-')}
      className="rounded-xl border border-slate-800 bg-slate-900/60 p-4"
    >
      <div className="flex flex-wrap items-center gap-2">
        <span className={`${BADGE} font-bold ${METHOD_COLORS[method] ?? ''}`}
        >
          {method}
        </span>
        <code className="text-sm font-semibold text-slate-100">{path}</code>
        {op.auth && (
          <span className={`${BADGE} bg-amber-400/10 text-amber-300 ring-amber-400/30`}>
            {op.auth === 'admin' ? 'administrators' : 'logged in'}
          </span>
        )}
        <span className="text-xs text-slate-500">→ {op.status ?? 200}</span>
      </div>
      <p className="mt-2 text-sm text-slate-300">{op.summary}</p>
      {documented.parameters.length > 0 && (
        <table className="mt-3 w-full text-left text-xs">
          <thead className="text-slate-500">
            <tr>
              <th className="py-1 font-medium">Parameter</th>
              <th className="font-medium">In</th>
              <th className="font-medium">Type</th>
            </tr>
          </thead>
          <tbody className="text-slate-300">
            {documented.parameters.map((p) => (
              <tr key={`${p.in}:${p.name}`} className="border-t border-slate-800/60">
                <td className="py-1 font-mono">
                  {p.name}
                  {p.required ? '' : '?'}
                </td>
                <td>{p.in}</td>
                <td className="font-mono">{typeOf(p.schema)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {documented.requestBody && (
        <SchemaBlock
          title="Request body (application/json)"
          schema={documented.requestBody.content['application/json']!.schema}
        />
      )}
      <SchemaBlock title={`Answer (${media})`} schema={answer.schema} />
    </li>
  );
}

/** The API reference, rendered on the server from the same contract the nodes serve and obey. */
export default function ApiDocsPage() {
  const document = openApiDocument('current');
  const entries = Object.entries(operations) as [string, Operation][];
  return (
    <div className="mx-auto max-w-4xl px-4 py-10">
      <h1 className="text-3xl font-bold tracking-tight text-white">API reference</h1>
      <p className="mt-3 text-sm text-slate-400">
        Every endpoint of MovieBook, from the contract the nodes are built on. The same document as
        OpenAPI 3.1:{' '}
        <a className="font-medium text-amber-300 hover:underline" href="/api/openapi.json">
          /api/openapi.json
        </a>
        . Errors all have one shape,{' '}
        <code className="text-slate-300">{'{ error: { code, message, details? } }'}</code>. Log in
        with the session cookie the site sets, or send{' '}
        <code className="text-slate-300">Authorization: Bearer &lt;token&gt;</code>.
      </p>
      {(Object.entries(TAGS) as [Operation['tag'], string][]).map(([tag, description]) => (
        <section key={tag} className="mt-10" aria-labelledby={`tag-${tag}`}>
          <h2 id={`tag-${tag}`} className="text-lg font-semibold capitalize text-white">
            {tag}
          </h2>
          <p className="text-sm text-slate-400">{description}</p>
          <ul className="mt-4 space-y-3">
            {entries
              .filter(([, op]) => op.tag === tag)
              .map(([key, op]) => {
                const [method, path] = splitKey(key);
                const documented = document.paths[openApiPath(path)]![
                  method.toLowerCase()
                ] as DocumentedOperation;
                return <OperationEntry key={key} opKey={key} op={op} documented={documented} />;
              })}
          </ul>
        </section>
      ))}
    </div>
  );
}
