// peer.js — the Node.js peer of the apply benchmark: what a team would write without fastlane.
// It reads a MariaDB/MySQL binlog as a replica with zongji, turns each row of one table into
// the key and JSON value fastlane writes for `[rule] key = PREFIX{COLUMN}, format = json`, and
// applies each source transaction to Redis as one MULTI/EXEC with ioredis (pipelined: it does
// not wait for one EXEC before sending the next), with a checkpoint HSET inside the same
// MULTI/EXEC as fastlane does. It exits after N transactions have been acknowledged by Redis
// and prints one JSON line with its rate.
//
// Usage: node peer.js --host H --port P --user U --password PW --file BINLOG --pos N
//                     --table DB.TABLE --key PREFIX --key-column COL --redis-port P --txns N
//                     [--server-id ID] [--timeout SECONDS]
//
// Differences from fastlane's canonical JSON (only the first matters for the benchmark's
// table, which has INT, VARCHAR and BIGINT columns, where both write the same bytes):
// - BIGINT beyond 2^53 becomes a rounded JavaScript number here; fastlane keeps 64-bit digits.
// - DECIMAL, DATETIME/TIMESTAMP (a Date here, ISO text with a 'T' and 'Z'), binary columns
//   (a Buffer here, base64 in fastlane), SET and BIT follow zongji's types, not docs/DESIGN.md's.
// - Columns are named from the table map's metadata (binlog_row_metadata = FULL), else zongji
//   queries information_schema; fastlane never queries, it names them @1, @2, ... instead.
import ZongJi from '@vlasky/zongji';
import Redis from 'ioredis';

function args(argv) {
  const o = {};
  for (let i = 2; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) {
      console.error(`peer: bad argument '${argv[i]}'`);
      process.exit(2);
    }
    o[argv[i].slice(2)] = argv[i + 1];
  }
  for (const k of ['port', 'file', 'pos', 'table', 'key', 'key-column', 'redis-port', 'txns']) {
    if (o[k] === undefined) { console.error(`peer: --${k} is required`); process.exit(2); }
  }
  return o;
}

const o = args(process.argv);
const [db, table] = o.table.split('.');
const want = parseInt(o.txns, 10);
const keyOf = (row) => o.key + String(row[o['key-column']]);
const redis = new Redis({ host: '127.0.0.1', port: parseInt(o['redis-port'], 10), enableAutoPipelining: false });
const zongji = new ZongJi({
  host: o.host || '127.0.0.1', port: parseInt(o.port, 10), user: o.user || 'root', password: o.password || '',
});

let ops = [];          // the current transaction's Redis commands
let seen = 0;          // transactions read from the binlog
let done = 0;          // transactions acknowledged by Redis (EXEC answered)
let commands = 0;      // Redis commands sent, MULTI and EXEC included
let t0 = 0;            // first binlog event, ns
let failed = false;

function finish(code, msg) {
  if (msg) console.error(msg);
  try { zongji.stop(); } catch (e) { /* already stopped */ }
  redis.disconnect();
  process.exit(code);
}

function commit(pos) {
  seen++;
  const m = redis.multi();
  for (const op of ops) {
    if (op[0] === 'set') m.set(op[1], op[2]); else m.del(op[1]);
  }
  m.hset('peer:checkpoint', 'file', zongji.binlogName || o.file, 'pos', String(pos));
  commands += ops.length + 3;
  ops = [];
  m.exec().then((res) => {
    for (const r of res || []) if (r[0]) throw r[0];
    done++;
    if (done === want) {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const rate = Math.round(want / secs);
      console.log(`node peer: ${want} transactions in ${secs.toFixed(3)}s: ${rate} txn/s, ` +
                  `${Math.round(commands / secs)} Redis commands/s`);
      console.log(JSON.stringify({ peer: 'node', transactions: want, seconds: Number(secs.toFixed(3)),
                                   txn_s: rate, commands, commands_s: Math.round(commands / secs) }));
      finish(0);
    }
  }).catch((e) => { if (!failed) { failed = true; finish(1, `peer: redis: ${e.message}`); } });
}

zongji.on('binlog', (evt) => {
  if (!t0) t0 = process.hrtime.bigint();
  if (seen >= want) return;
  const name = evt.getEventName();
  if (name === 'xid') { commit(evt.nextPosition); return; }
  if (name !== 'writerows' && name !== 'updaterows' && name !== 'deleterows') return;
  const tm = evt.tableMap[evt.tableId];
  if (!tm || tm.parentSchema !== db || tm.tableName !== table) return;
  for (const row of evt.rows) {
    if (name === 'writerows') {
      ops.push(['set', keyOf(row), JSON.stringify(row)]);
    } else if (name === 'updaterows') {
      const before = keyOf(row.before), after = keyOf(row.after);
      if (before !== after) ops.push(['del', before]);
      ops.push(['set', after, JSON.stringify(row.after)]);
    } else {
      ops.push(['del', keyOf(row)]);
    }
  }
});
zongji.on('error', (e) => { if (!failed) { failed = true; finish(1, `peer: zongji: ${e.message || e}`); } });

const timeout = parseInt(o.timeout || '600', 10);
setTimeout(() => finish(1, `peer: timeout after ${timeout}s: ${seen} transactions read, ${done} applied`),
           timeout * 1000).unref();

zongji.start({
  serverId: parseInt(o['server-id'] || '4242', 10),
  filename: o.file,
  position: parseInt(o.pos, 10),
  includeEvents: ['tablemap', 'writerows', 'updaterows', 'deleterows', 'xid'],
  includeSchema: { [db]: [table] },
});
