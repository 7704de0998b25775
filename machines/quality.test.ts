import { describe, expect, it } from "vitest";
import {
  MESH_UPLINK_BUDGET_BPS,
  type QualityLevel,
  type QualitySample,
  type StatsLike,
  bitrateBudget,
  classifyQuality,
  degrade,
  nextQualityLevel,
  parseStatsReport,
} from "./quality";

const clean: QualitySample = {
  rttMs: 40,
  jitterMs: 5,
  packetLossPct: 0,
  inboundKbps: 900,
  outboundKbps: 900,
  fps: 30,
  width: 640,
  height: 360,
};

describe("classifyQuality", () => {
  it("rates a clean link good", () => {
    expect(classifyQuality(clean)).toEqual({ score: 100, level: "good" });
  });

  it.each([
    [2, 100, "good"],
    [3, 70, "fair"],
    [5, 50, "fair"],
    [7, 30, "poor"],
    [10, 10, "poor"],
    [20, 0, "poor"],
  ] as const)("maps %s%% loss to the Jitsi band %s", (loss, score, level) => {
    expect(classifyQuality({ ...clean, packetLossPct: loss })).toEqual({ score, level });
  });

  it("turns each Twilio warning (RTT > 400 ms, jitter > 30 ms) into fair", () => {
    expect(classifyQuality({ ...clean, rttMs: 400 }).level).toBe("fair");
    expect(classifyQuality({ ...clean, rttMs: 401 }).level).toBe("fair");
    expect(classifyQuality({ ...clean, rttMs: 250 }).level).toBe("good");
    expect(classifyQuality({ ...clean, jitterMs: 31 }).level).toBe("fair");
    expect(classifyQuality({ ...clean, jitterMs: 25 }).level).toBe("good");
  });

  it("lets the worst factor win", () => {
    expect(classifyQuality({ ...clean, rttMs: 1000, packetLossPct: 1 }).level).toBe("poor");
    expect(classifyQuality({ ...clean, fps: 5 }).score).toBe(40);
  });

  it("does not penalise a peer whose camera is off or unknown metrics", () => {
    const blank: QualitySample = {
      rttMs: null,
      jitterMs: null,
      packetLossPct: null,
      inboundKbps: null,
      outboundKbps: null,
      fps: null,
      width: null,
      height: null,
    };
    expect(classifyQuality(blank).level).toBe("good");
    expect(classifyQuality({ ...clean, fps: 0 }).level).toBe("good");
  });
});

describe("nextQualityLevel", () => {
  it("drops on the first bad sample", () => {
    expect(nextQualityLevel("good", ["good", "good", "poor"])).toBe("poor");
    expect(nextQualityLevel("good", ["fair"])).toBe("fair");
  });

  it("needs three consecutive better samples to recover", () => {
    const h: QualityLevel[] = ["poor"];
    let level: QualityLevel = "poor";
    const seen: QualityLevel[] = [];
    for (let i = 0; i < 3; i++) {
      h.push("good");
      level = nextQualityLevel(level, h);
      seen.push(level);
    }
    expect(seen).toEqual(["poor", "poor", "good"]);
  });

  it("restarts the recovery count after a relapse", () => {
    expect(nextQualityLevel("poor", ["good", "good", "poor", "good", "good"])).toBe("poor");
    expect(nextQualityLevel("poor", ["good", "poor", "good", "good", "good"])).toBe("good");
  });

  it("recovers only as far as the worst recent sample", () => {
    expect(nextQualityLevel("poor", ["good", "fair", "good"])).toBe("fair");
  });

  it("keeps the level with no history", () => {
    expect(nextQualityLevel("fair", [])).toBe("fair");
  });
});

function report(t: number, opts: { rx: number; tx: number; recv: number; lost: number }): StatsLike[] {
  return [
    {
      type: "inbound-rtp",
      id: "in-v",
      timestamp: t,
      kind: "video",
      bytesReceived: opts.rx,
      packetsReceived: opts.recv,
      packetsLost: opts.lost,
      jitter: 0.012,
      framesPerSecond: 24,
      frameWidth: 640,
      frameHeight: 360,
    },
    {
      type: "inbound-rtp",
      id: "in-a",
      timestamp: t,
      kind: "audio",
      bytesReceived: 0,
      packetsReceived: 0,
      packetsLost: 0,
      jitter: 0.004,
    },
    { type: "outbound-rtp", id: "out-v", timestamp: t, kind: "video", bytesSent: opts.tx },
    { type: "candidate-pair", id: "cp-old", timestamp: t, state: "failed", currentRoundTripTime: 2 },
    {
      type: "candidate-pair",
      id: "cp-1",
      timestamp: t,
      state: "succeeded",
      nominated: true,
      currentRoundTripTime: 0.087,
    },
    { type: "remote-inbound-rtp", id: "ri-v", timestamp: t, fractionLost: 0.01, roundTripTime: 0.09 },
  ];
}

describe("parseStatsReport", () => {
  it("times its rates by our own RTP entries, not by a remote report's clock (Firefox's remote-outbound-rtp)", () => {
    // The peer's last RTCP report, on the peer's clock, ahead of ours and unchanged between the samples.
    const remote = { type: "remote-outbound-rtp", id: "ro-v", timestamp: 50_000, bytesSent: 1 };
    const first = parseStatsReport([...report(1_000, { rx: 0, tx: 0, recv: 0, lost: 0 }), remote]);
    const second = parseStatsReport(
      [...report(3_000, { rx: 250_000, tx: 125_000, recv: 200, lost: 0 }), remote],
      first,
    );
    expect(second.inboundKbps).toBe(1_000);
    expect(second.outboundKbps).toBe(500);
  });

  it("reads RTT from the nominated pair, jitter in ms and frame info of received video", () => {
    const s = parseStatsReport(report(1000, { rx: 0, tx: 0, recv: 0, lost: 0 }));
    expect(s.rttMs).toBe(87);
    expect(s.jitterMs).toBe(12);
    expect([s.fps, s.width, s.height]).toEqual([24, 640, 360]);
    expect(s.inboundKbps).toBeNull();
    expect(s.packetLossPct).toBe(1);
  });

  it("computes bitrates and interval loss from deltas", () => {
    const first = parseStatsReport(report(1000, { rx: 100_000, tx: 50_000, recv: 1000, lost: 0 }));
    const second = parseStatsReport(report(3000, { rx: 350_000, tx: 300_000, recv: 1950, lost: 50 }), first);
    // 250 kB in 2 s = 1000 kbps
    expect(second.inboundKbps).toBe(1000);
    expect(second.outboundKbps).toBe(1000);
    // 50 lost of 1000 in the interval
    expect(second.packetLossPct).toBe(5);
  });

  it("prefers the transport's selected pair and accepts a map-like report", () => {
    const list = report(1000, { rx: 0, tx: 0, recv: 0, lost: 0 });
    list.push(
      { type: "candidate-pair", id: "cp-2", timestamp: 1000, state: "succeeded", currentRoundTripTime: 0.2 },
      { type: "transport", id: "t", timestamp: 1000, selectedCandidatePairId: "cp-2" },
    );
    const map = new Map(list.map((s) => [s.id, s]));
    expect(parseStatsReport(map).rttMs).toBe(200);
  });

  it("reads a Firefox (ESR 153) report: its field set, an RTCP-time remote report, no frame size on sends", () => {
    // The shape firefox-esr 153 returns (fields as seen in the cross-browser E2E run): a transport
    // naming its selected pair, pairs with Firefox's own `selected` flag, a remote-inbound-rtp
    // stamped with the (earlier) RTCP time, and outbound video without frameWidth/frameHeight.
    const firefox = (t: number, rx: number, tx: number): StatsLike[] => [
      { type: "transport", id: "t1", timestamp: t, iceState: "connected", selectedCandidatePairId: "p2" },
      {
        type: "candidate-pair",
        id: "p1",
        timestamp: t,
        state: "cancelled",
        nominated: false,
        selected: false,
        currentRoundTripTime: 0,
      },
      {
        type: "candidate-pair",
        id: "p2",
        timestamp: t,
        state: "succeeded",
        nominated: true,
        selected: true,
        currentRoundTripTime: 0.031,
      },
      {
        type: "inbound-rtp",
        id: "iv",
        timestamp: t,
        kind: "video",
        mediaType: "video",
        bytesReceived: rx,
        packetsReceived: rx / 1000,
        packetsLost: 0,
        jitter: 0.0007,
        framesPerSecond: 30,
        frameWidth: 640,
        frameHeight: 360,
      },
      {
        type: "outbound-rtp",
        id: "ov",
        timestamp: t,
        kind: "video",
        mediaType: "video",
        bytesSent: tx,
        packetsSent: tx / 1000,
      },
      {
        type: "remote-inbound-rtp",
        id: "rv",
        timestamp: t - 700,
        kind: "video",
        fractionLost: 0,
        roundTripTime: 0.001,
        packetsLost: 0,
      },
    ];
    const first = parseStatsReport(firefox(10_000, 100_000, 100_000));
    const s = parseStatsReport(firefox(12_000, 350_000, 300_000), first);
    expect(s.rttMs).toBe(31);
    expect(s.jitterMs).toBe(1);
    expect(s.packetLossPct).toBe(0);
    expect([s.inboundKbps, s.outboundKbps]).toEqual([1000, 800]);
    expect([s.fps, s.width, s.height]).toEqual([30, 640, 360]);
    expect(classifyQuality(s).level).toBe("good");
  });

  it("falls back to remote-inbound RTT when no pair is selected and survives counter resets", () => {
    const list = report(1000, { rx: 10, tx: 10, recv: 10, lost: 0 }).filter((s) => s.type !== "candidate-pair");
    const s = parseStatsReport(list);
    expect(s.rttMs).toBe(90);
    const reset = parseStatsReport(report(2000, { rx: 0, tx: 0, recv: 0, lost: 0 }), {
      ...s,
      counters: { bytesReceived: 999, bytesSent: 999, packetsReceived: 10, packetsLost: 0 },
    });
    expect(reset.inboundKbps).toBeNull();
  });
});

describe("bitrateBudget", () => {
  it("gives a lone remote full 360p30", () => {
    expect(bitrateBudget(1)).toEqual({ maxBitrate: 1_200_000, scaleResolutionDownBy: 1, maxFramerate: 30 });
  });

  it("splits the uplink for small groups", () => {
    expect(bitrateBudget(2).maxBitrate).toBe(600_000);
    expect(bitrateBudget(3).scaleResolutionDownBy).toBe(2);
    expect(bitrateBudget(4)).toEqual({ maxBitrate: 350_000, scaleResolutionDownBy: 2, maxFramerate: 15 });
    expect(bitrateBudget(5)).toEqual(bitrateBudget(4));
  });

  it("never exceeds the total uplink budget", () => {
    for (let n = 1; n <= 12; n++) {
      expect(bitrateBudget(n).maxBitrate * n).toBeLessThanOrEqual(MESH_UPLINK_BUDGET_BPS);
    }
  });

  it("degrades by halving the bitrate and doubling the downscale, with floors", () => {
    expect(degrade(bitrateBudget(1))).toEqual({
      maxBitrate: 600_000,
      scaleResolutionDownBy: 2,
      maxFramerate: 30,
    });
    let b = bitrateBudget(5);
    for (let i = 0; i < 10; i++) b = degrade(b);
    expect(b.maxBitrate).toBe(100_000);
    expect(b.scaleResolutionDownBy).toBe(8);
  });
});
