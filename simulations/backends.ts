import { createServer, type AddressInfo } from 'node:net'

/** A TCP backend on loopback that accepts every connection (what an edge's probe wants), until closed. */
export async function listeningBackend (): Promise<{ url: string, close: () => void }> {
  const server = createServer(socket => { socket.end() })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => { server.close() } }
}

/** A backend address nothing listens on: a loopback port just given back. */
export async function deadBackend (): Promise<string> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => { resolve() }))
  return `http://127.0.0.1:${port}`
}
