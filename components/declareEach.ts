/** One turn of the event loop: every pending promise callback runs, and any I/O that is ready, before it ends. */
export function eventLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Declares the items one at a time, with a turn of the event loop after each (issue 17, item 5).
 *
 * Declaring every namespace in one synchronous loop builds every registration (its inputs, its promises, its
 * request) before the SDK sends the first: under the mock runtime that `npm run plan`, `npm run bench` and the tests
 * use, 1,000 ACR namespaces peaked at 1,488 MiB RSS. A turn after each namespace lets the SDK send its registrations,
 * and under mocks finish them, before the next is built: 715 MiB, and faster (docs/performance.md). Nothing waits for
 * a resource to be created, so under the engine the namespaces still deploy in parallel: a turn costs microseconds,
 * and the engine sees the first namespace sooner.
 */
export async function declareEach<T, R>(
  items: readonly T[],
  declare: (item: T) => R,
  nextTurn: () => Promise<void> = eventLoopTurn,
): Promise<R[]> {
  const declared: R[] = [];
  for (const item of items) {
    declared.push(declare(item));
    await nextTurn();
  }
  return declared;
}
