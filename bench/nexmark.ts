// A Nexmark subset (the bid queries q0, q1, q2, q5, q7) written in .flow, each beside a hand-written
// loop over the same bids. The bids come from a deterministic generator written twice, once as a
// Flow `map` over `generate()` and once in TypeScript: bid n has
//
//   auction  = floor(n / 500) + (n % 2 == 0 ? (n·7919) mod 10 : (n·104729) mod 1000)   (half the bids
//              go to the 10 newest auctions: Nexmark's hot auctions)
//   bidder   = (n·31337) mod 100000
//   price    = 100 + (n·7907) mod 10000
//   channel  = n mod 4 (Nexmark's four channels, as an index)
//   dateTime = FIRST + floor(n / 10) ms (10 000 bids per second of event time)
//
// It follows the shape of Nexmark's bid stream (hot auctions, a bid rate, uniform bidders and prices),
// not its reference generator: figures compare with published ones per core and in order of magnitude only.
// Checksums are computed from each query's output rows and from the loop's results.

export type NexmarkQuery = "q0" | "q1" | "q2" | "q5" | "q7";
export const NEXMARK_QUERIES: readonly NexmarkQuery[] = ["q0", "q1", "q2", "q5", "q7"];

const FIRST = 1_700_000_000_000;

interface Bid {
  auction: number;
  bidder: number;
  price: number;
  channel: number;
  dateTime: number;
}

function bid(n: number): Bid {
  return {
    auction: Math.floor(n / 500) + (n % 2 === 0 ? (n * 7919) % 10 : (n * 104729) % 1000),
    bidder: (n * 31337) % 100000,
    price: 100 + ((n * 7907) % 10000),
    channel: n % 4,
    dateTime: FIRST + Math.floor(n / 10),
  };
}

const BIDS = (count: number) => `source raw: { n: int, t: timestamp } = generate(count: ${count})

stream bids = raw
  |> map(r => {
       auction: floor(r.n / 500) + (r.n % 2 == 0 ? (r.n * 7919) % 10 : (r.n * 104729) % 1000),
       bidder: (r.n * 31337) % 100000,
       price: 100 + (r.n * 7907) % 10000,
       channel: r.n % 4,
       dateTime: r.t + 1ms * (floor(r.n / 10) - r.n * 1000)
     })
`;

export interface NexmarkSpec {
  title: string;
  flow(count: number, out: string): string;
  /** The query as a hand-written loop: its checksum. */
  hand(count: number): string;
  /** The checksum of the plan's output rows. */
  checksum(rows: Record<string, unknown>[]): string;
}

/** Σ price and the number of rows: what q0 and q1 compare. */
function priceSum(rows: Iterable<{ price: number }>): string {
  let sum = 0;
  let n = 0;
  for (const r of rows) {
    sum += r.price;
    n++;
  }
  return `${n} rows, Σ price ${sum}`;
}

export const NEXMARK: Record<NexmarkQuery, NexmarkSpec> = {
  q0: {
    title: "q0: pass-through (every bid written out)",
    flow: (count, out) => `pipeline q0\n${BIDS(count)}\nbids |> sink file(${JSON.stringify(out)}, format: "jsonl")\n`,
    hand(count) {
      // The same work as the plan: every bid made and written as a JSON line (into memory).
      let sum = 0;
      let bytes = 0;
      for (let n = 0; n < count; n++) {
        const b = bid(n);
        bytes += JSON.stringify(b).length + 1;
        sum += b.price;
      }
      return bytes > 0 ? `${count} rows, Σ price ${sum}` : "";
    },
    checksum: (rows) => priceSum(rows as unknown as { price: number }[]),
  },
  q1: {
    title: "q1: currency conversion (price in euros)",
    flow: (count, out) =>
      `pipeline q1\n${BIDS(count)}\nbids\n  |> map(b => { auction: b.auction, bidder: b.bidder, price: b.price * 0.908, dateTime: b.dateTime })\n  |> sink file(${JSON.stringify(out)}, format: "jsonl")\n`,
    hand(count) {
      let sum = 0;
      let bytes = 0;
      for (let n = 0; n < count; n++) {
        const b = bid(n);
        const r = { auction: b.auction, bidder: b.bidder, price: b.price * 0.908, dateTime: b.dateTime };
        bytes += JSON.stringify(r).length + 1;
        sum += r.price;
      }
      return bytes > 0 ? `${count} rows, Σ price ${sum}` : "";
    },
    checksum: (rows) => priceSum(rows as unknown as { price: number }[]),
  },
  q2: {
    title: "q2: selection (bids on auctions divisible by 123)",
    flow: (count, out) =>
      `pipeline q2\n${BIDS(count)}\nbids\n  |> filter(b => b.auction % 123 == 0)\n  |> map(b => { auction: b.auction, price: b.price })\n  |> sink file(${JSON.stringify(out)}, format: "jsonl")\n`,
    hand(count) {
      const rows: { auction: number; price: number }[] = [];
      for (let n = 0; n < count; n++) {
        const b = bid(n);
        if (b.auction % 123 === 0) rows.push({ auction: b.auction, price: b.price });
      }
      return q2Checksum(rows);
    },
    checksum: (rows) => q2Checksum(rows as unknown as { auction: number; price: number }[]),
  },
  q5: {
    title: "q5: hot items (the auction with the most bids per 10 s window, every 2 s)",
    flow: (count, out) => `pipeline q5\n${BIDS(count)}
bids
  |> watermark(b => b.dateTime, delay: 0ms)
  |> keyBy(b => b.auction)
  |> window(sliding(10s, every: 2s))
  |> count()
  |> keyBy(c => 0)
  |> window(tumbling(2s))
  |> reduce((a, b) => a.count > b.count || (a.count == b.count && a.key < b.key) ? a : b)
  |> sink file(${JSON.stringify(out)}, format: "jsonl")
`,
    hand(count) {
      // Per sliding window (start → auction → bids), then the hottest auction of each window.
      const windows = new Map<number, Map<number, number>>();
      for (let n = 0; n < count; n++) {
        const b = bid(n);
        const t = b.dateTime;
        for (let s = t - (t % 2000); s > t - 10_000; s -= 2000) {
          let w = windows.get(s);
          if (!w) windows.set(s, (w = new Map()));
          w.set(b.auction, (w.get(b.auction) ?? 0) + 1);
        }
      }
      const hottest: { key: number; count: number; start: number }[] = [];
      for (const [start, w] of windows) {
        let best: { key: number; count: number } | null = null;
        for (const [key, c] of w) if (best === null || c > best.count || (c === best.count && key < best.key)) best = { key, count: c };
        hottest.push({ ...best!, start });
      }
      return q5Checksum(hottest);
    },
    checksum: (rows) => q5Checksum(rows.map((r) => ({ ...(r.value as { key: number; count: number; start: number }) }))),
  },
  q7: {
    title: "q7: highest bid (per 10 s window)",
    flow: (count, out) => `pipeline q7\n${BIDS(count)}
bids
  |> watermark(b => b.dateTime, delay: 0ms)
  |> keyBy(b => 0)
  |> window(tumbling(10s))
  |> reduce((a, b) => a.price > b.price || (a.price == b.price && a.dateTime <= b.dateTime) ? a : b)
  |> sink file(${JSON.stringify(out)}, format: "jsonl")
`,
    hand(count) {
      const best = new Map<number, Bid>();
      for (let n = 0; n < count; n++) {
        const b = bid(n);
        const start = b.dateTime - (b.dateTime % 10_000);
        const a = best.get(start);
        if (a === undefined || !(a.price > b.price || (a.price === b.price && a.dateTime <= b.dateTime))) best.set(start, b);
      }
      return q7Checksum([...best.values()]);
    },
    checksum: (rows) => q7Checksum(rows.map((r) => r.value as Bid)),
  },
};

function q2Checksum(rows: { auction: number; price: number }[]): string {
  let a = 0;
  let p = 0;
  for (const r of rows) {
    a += r.auction;
    p += r.price;
  }
  return `${rows.length} rows, Σ auction ${a}, Σ price ${p}`;
}

/** Independent of the order of windows: Σ (auction + 1)·count and Σ start of the windows (in seconds). */
function q5Checksum(rows: { key: number; count: number; start: number }[]): string {
  let h = 0;
  let s = 0;
  for (const r of rows) {
    h += (r.key + 1) * r.count;
    s += (r.start - FIRST) / 1000;
  }
  return `${rows.length} windows, Σ (auction+1)·bids ${h}, Σ start ${s}`;
}

function q7Checksum(rows: Bid[]): string {
  let p = 0;
  let b = 0;
  for (const r of rows) {
    p += r.price;
    b += r.bidder;
  }
  return `${rows.length} windows, Σ price ${p}, Σ bidder ${b}`;
}
