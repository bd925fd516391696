/**
 * The Parquet encoder thread (see ./encoder-thread.ts): encodes each snapshot of a row group it receives with the
 * same ChunkEncoder the main thread would use and replies with the row group's bytes, in the order received.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { EncoderData, EncoderReply } from './encoder-thread.ts';
import { ChunkEncoder, ColumnBuffers, type ColumnsSnapshot, ownedRowGroup } from './parquet.ts';

const { columns, compression, port, signal } = workerData as EncoderData;
// The column layout (kinds, groups, stats positions), computed as the writer's buffers compute it.
const layout = new ColumnBuffers(columns, 0);
const encoder = new ChunkEncoder(compression);

parentPort!.on('message', (snapshot: ColumnsSnapshot) => {
  let reply: EncoderReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const group = ownedRowGroup(
      encoder.encodeRowGroup({
        ...snapshot,
        columns,
        kinds: layout.kinds,
        groupOf: layout.groupOf,
        statsIndex: layout.statsIndex,
      }),
    );
    reply = { group };
    transfer = [group.bytes.buffer as ArrayBuffer];
  } catch (e) {
    reply = { error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  port.postMessage(reply, transfer);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});
