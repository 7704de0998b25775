import { expect, test } from "./fixtures";
import {
  aliceStartsBobJoins,
  clickJoin,
  expectVideoFlowing,
  gridTiles,
  instrumentWebRtc,
  leaveCall,
  liveDeviceTracks,
  openCallPage,
  openPeerConnections,
  recordDeviceTracks,
} from "./media";

const instrument = async (page: Parameters<typeof instrumentWebRtc>[0]) => {
  await instrumentWebRtc(page);
  await recordDeviceTracks(page);
};

// Leaving must let go of everything a call holds: camera and microphone (their lights go off) and
// the connections, on both sides. Repeated joins must not pile connections up on whoever stays.
test("leaving lets go of camera, microphone and connections; rejoining does not pile them up", async ({ loginAs }) => {
  test.setTimeout(150_000);
  const { alice, bob, studyId } = await aliceStartsBobJoins(loginAs, instrument);
  // Bob's page is already open; his instruments take effect from the next load on.
  await instrument(bob);
  await leaveCall(bob);

  for (let round = 0; round < 3; round++) {
    await openCallPage(bob, studyId);
    await clickJoin(bob);
    await expectVideoFlowing(alice, "Bob");
    await expectVideoFlowing(bob, "Alice");
    expect(await openPeerConnections(alice)).toBe(1);
    expect(await openPeerConnections(bob)).toBe(1);

    await leaveCall(bob);
    await expect.poll(() => liveDeviceTracks(bob, "video")).toBe(0);
    await expect.poll(() => liveDeviceTracks(bob, "audio")).toBe(0);
    await expect.poll(() => openPeerConnections(bob)).toBe(0);
    await expect(gridTiles(alice)).toHaveCount(1);
    await expect.poll(() => openPeerConnections(alice)).toBe(0);
    // Alice's own camera and microphone stay on for her, one of each.
    expect(await liveDeviceTracks(alice, "video")).toBe(1);
    expect(await liveDeviceTracks(alice, "audio")).toBe(1);
  }

  await leaveCall(alice);
  await expect.poll(() => liveDeviceTracks(alice, "video")).toBe(0);
  await expect.poll(() => liveDeviceTracks(alice, "audio")).toBe(0);
});
