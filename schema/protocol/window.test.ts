// SendWindow / ReceiveWindow: the credit rule of frames.ts ("Flow control") written once. The property
// tests drive both halves over a simulated stream with random writes, reads and grants, and check the
// rule on every frame; the last test shows the receiver's check catching a sender that ignores it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProtocolError } from "./errors.ts";
import { MAX_CHUNK_BYTES, MAX_CREDIT } from "./limits.ts";
import { ReceiveWindow } from "./receive-window.ts";
import { SendWindow } from "./send-window.ts";

describe("SendWindow", () => {
  it("takes min(credit, max chunk, n)", () => {
    const window = new SendWindow({ credit: 10, maxChunk: 4 });
    expect(window.take(100)).toBe(4);
    expect(window.take(3)).toBe(3);
    expect(window.take(100)).toBe(3);
    expect(window.take(100)).toBe(0);
    expect(window.credit).toBe(0);
    window.grant(MAX_CHUNK_BYTES * 2);
    expect(new SendWindow({ credit: MAX_CHUNK_BYTES * 2 }).take(Number.MAX_SAFE_INTEGER)).toBe(
      MAX_CHUNK_BYTES,
    );
  });

  it("refuses a negative, fractional or oversized grant, and a sum beyond 2^32 - 1", () => {
    const window = new SendWindow();
    for (const bad of [-1, 0.5, Number.NaN, MAX_CREDIT + 1, Number.POSITIVE_INFINITY]) {
      expect(() => window.grant(bad), String(bad)).toThrow(ProtocolError);
    }
    window.grant(MAX_CREDIT);
    expect(() => window.grant(1)).toThrow(
      "Cannot grant credit: 1 more bytes on top of 4294967295 exceed 4294967295",
    );
    expect(window.credit).toBe(MAX_CREDIT); // a refused grant changes nothing
    window.grant(0);
    expect(() => new SendWindow({ maxChunk: 0 })).toThrow(RangeError);
  });

  it("waits for credit, and wakes every waiter with the error on close", async () => {
    const window = new SendWindow();
    let ready = false;
    const waiting = window.ready().then(() => (ready = true));
    await Promise.resolve();
    expect(ready).toBe(false);
    window.grant(1);
    await waiting;
    expect(ready).toBe(true);

    const sent: number[] = [];
    const sending = window.send(new Uint8Array(5), (chunk) => sent.push(chunk.length));
    const other = window.ready().then(
      () => window.ready(),
      (error: Error) => error,
    );
    await Promise.resolve();
    const closed = new Error("the stream is gone");
    window.close(closed);
    await expect(sending).rejects.toBe(closed);
    expect(sent).toEqual([1]); // what went before the close stays sent
    await expect(window.ready()).rejects.toBe(closed);
    expect(window.take(5)).toBe(0);
    window.grant(5); // credit arriving after the close is dropped, not an error
    expect(window.credit).toBe(0);
    window.close(new Error("second"));
    await expect(window.ready()).rejects.toBe(closed);
    await other.catch(() => {});
  });

  it("sends every byte in order within the credit, over random grants and writes (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 1024 }),
        async (writes, grants, maxChunk) => {
          const window = new SendWindow({ maxChunk });
          let granted = 0;
          let sent = 0;
          let next = 0;
          let inOrder = true;
          const total = writes.reduce((a, b) => a + b, 0);
          const emit = (chunk: Uint8Array) => {
            expect(chunk.length).toBeGreaterThan(0);
            expect(chunk.length).toBeLessThanOrEqual(maxChunk);
            for (const byte of chunk) inOrder &&= byte === next++ % 251;
            sent += chunk.length;
            expect(sent).toBeLessThanOrEqual(granted);
          };
          const writer = (async () => {
            let at = 0;
            for (const size of writes) {
              const bytes = Uint8Array.from({ length: size }, (_, i) => (at + i) % 251);
              at += size;
              await window.send(bytes, emit);
            }
          })();
          // The peer grants in its own rhythm until everything is through.
          for (let i = 0; sent < total; i++) {
            const bytes = grants[i % grants.length]!;
            granted += bytes;
            window.grant(bytes);
            await new Promise((resolve) => setImmediate(resolve));
          }
          await writer;
          expect(sent).toBe(total);
          expect(inOrder).toBe(true);
          expect(window.credit).toBe(granted - sent);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("ReceiveWindow", () => {
  it("refuses bytes beyond the credit granted, with the grantor in the message", () => {
    const window = new ReceiveWindow({ left: 512, grantor: "the client granted on stream 3" });
    window.receive(500, "stdout");
    expect(window.left).toBe(12);
    expect(() => window.receive(262144, "stdout")).toThrow(
      "stdout of 262144 bytes exceeds the 12 bytes of credit the client granted on stream 3",
    );
    const error = (() => {
      try {
        window.receive(13);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe("too_big"); // close 4413
    expect(window.left).toBe(12); // a refused chunk counts nothing
    window.receive(12);
    expect(window.left).toBe(0);
    expect(() => new ReceiveWindow({ left: -1 })).toThrow(RangeError);
    expect(() => new ReceiveWindow({ left: 5, max: 4 })).toThrow(RangeError);
  });

  it("grants consumed bytes back a quarter window at a time", () => {
    const window = ReceiveWindow.quarter(1000);
    window.receive(1000);
    expect(window.consumed(100)).toBe(0);
    expect(window.consumed(100)).toBe(0);
    expect(window.pending).toBe(200);
    expect(window.consumed(60)).toBe(260);
    expect(window.left).toBe(260);
    expect(window.pending).toBe(0);
    const eager = new ReceiveWindow({ left: 10 });
    eager.receive(4);
    expect(eager.consumed(4)).toBe(4); // batch 1: every byte goes back as it is consumed
  });

  it("trims grants so the peer never holds more than max (what a relay may have to hold)", () => {
    const window = new ReceiveWindow({ left: 60, max: 100 });
    expect(window.grant(30)).toBe(30);
    expect(window.grant(30)).toBe(10);
    expect(window.grant(30)).toBe(0);
    expect(window.left).toBe(100);
    expect(new ReceiveWindow({ left: window.left, max: 100 }).left).toBe(100); // survives hibernation
  });

  it("never lets the peer hold more than the window, and never stalls a sender that keeps to it (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 1 << 20 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 << 18 }), fc.boolean()), { maxLength: 200 }),
        (size, steps) => {
          const receiver = ReceiveWindow.quarter(size);
          const sender = new SendWindow({ credit: size });
          let queued = 0;
          for (const [n, read] of steps) {
            if (read) {
              // The reader takes what is queued; the grant travels back as a credit frame.
              const back = receiver.consumed(Math.min(n, queued));
              queued -= Math.min(n, queued);
              if (back > 0) sender.grant(back);
            } else {
              const chunk = sender.take(n);
              receiver.receive(chunk); // throws if the pair ever disagreed
              queued += chunk;
            }
            expect(sender.credit).toBe(receiver.left);
            expect(queued + receiver.left + receiver.pending).toBe(size);
          }
          // Once the reader drains everything, the sender has credit again: no deadlock.
          if (queued > 0) sender.grant(receiver.consumed(queued));
          expect(sender.credit).toBeGreaterThanOrEqual(size - receiver.pending);
          expect(sender.credit).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("catches a sender that ignores its window: the check can fail", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 20 }),
        fc.integer({ min: 1, max: 1 << 16 }),
        (size, over) => {
          const receiver = new ReceiveWindow({ left: size });
          const sender = new SendWindow({ credit: size });
          for (let n = sender.take(size); n > 0; n = sender.take(size)) receiver.receive(n); // within it: fine
          // A broken sender that sends its next chunk without taking credit for it.
          expect(() => receiver.receive(over)).toThrow(ProtocolError);
        },
      ),
    );
  });
});
