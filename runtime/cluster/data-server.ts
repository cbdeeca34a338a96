// The data server of a worker process: the TCP data plane of runtime/transport, which
// authenticates every connection with the job's secret before reading a frame.
import { TcpNetwork } from "../transport/tcp.js";
import type { DataServer, WorkerNodeOptions } from "./node.js";

export const tcpDataServer: WorkerNodeOptions["dataServer"] = async (o): Promise<DataServer> => {
  const net = await TcpNetwork.listen({ host: o.host, port: o.port, workerId: o.workerId, inbound: o.inbound, secretFor: o.secretFor, log: o.log });
  return { network: net, port: net.port, close: () => net.close() };
};
