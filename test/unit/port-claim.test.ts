import net from "node:net";
import test from "ava";
import { claimPorts } from "../../daemon/primary/listeners.ts";
import { StartupError } from "../../daemon/primary/startup-error.ts";

/** Binds the port alone, as another program (or another tsd's start) would: its error code, or "bound". */
function bindAlone(port: number): Promise<string> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => server.close(() => resolve("bound")));
  });
}

/** Listens on the port with SO_REUSEPORT, as a session thread does. */
function joinAsThread(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.end("thread\n"));
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port, reusePort: true, exclusive: true }, () => resolve(server));
  });
}

test("port claim - ports of 0 are distinct and held: another program's bind fails until a thread listens and they are released", async (t) => {
  const claim = await claimPorts("127.0.0.1", { chat: 0, echo: 0, "chat-tls": 0 });
  t.teardown(() => claim.releaseAll());
  const ports = [claim.ports.chat!, claim.ports.echo!, claim.ports["chat-tls"]!];
  t.is(new Set(ports).size, 3, `three services, three ports: ${ports.join(", ")}`);
  for (const port of ports) t.is(await bindAlone(port), "EADDRINUSE", `port ${port} is held`);

  // A thread joins the held port; once released, only the thread's listener serves it.
  const thread = await joinAsThread(claim.ports.chat!);
  t.teardown(() => thread.close());
  claim.release("chat");
  for (let i = 0; i < 20; i++) {
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port: claim.ports.chat! });
      let text = "";
      socket.on("data", (chunk) => (text += chunk));
      socket.on("error", () => {});
      socket.on("close", () => resolve(text));
    });
    t.is(answer, "thread\n", "every connection reaches the thread, none the released holder");
  }
  await new Promise((resolve) => thread.close(resolve));
  claim.releaseAll();
  for (const port of ports) t.is(await bindAlone(port), "bound", `port ${port} is free again`);
});

test("port claim - a port in use stops the claim naming it and its flag; nothing stays held", async (t) => {
  const other = net.createServer();
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
  t.teardown(() => other.close());
  const taken = (other.address() as net.AddressInfo).port;
  const free = await claimPorts("127.0.0.1", { chat: 0 });
  const chatPort = free.ports.chat!;
  free.releaseAll();
  await t.throwsAsync(claimPorts("127.0.0.1", { chat: chatPort, echo: taken }), {
    instanceOf: StartupError,
    message: new RegExp(`^port ${taken} \\(echo\\) on 127\\.0\\.0\\.1 is already in use.*--echo-port$`),
  });
  t.is(await bindAlone(chatPort), "bound", "the chat port claimed before the refusal is let go");
});

test("port claim - what connects to a held port before a thread listens is closed, not left waiting", async (t) => {
  const claim = await claimPorts("127.0.0.1", { chat: 0 });
  t.teardown(() => claim.releaseAll());
  const closed = await new Promise<string>((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port: claim.ports.chat! });
    let text = "";
    socket.on("data", (chunk) => (text += chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
    socket.on("close", () => resolve(`closed after ${JSON.stringify(text)}`));
  });
  t.regex(closed, /^(closed after ""|error ECONNRESET)$/);
});
