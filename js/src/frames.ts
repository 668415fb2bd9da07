/** When views redraw: on animation frames in the browser; tests pass their own scheduler. */
export interface FrameScheduler {
	request(callback: () => void): number;
	cancel(handle: number): void;
}

export const animationFrames: FrameScheduler = {
	request: (callback) => requestAnimationFrame(callback),
	cancel: (handle) => cancelAnimationFrame(handle),
};
