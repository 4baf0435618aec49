// A uPlot chart as a preact component: created once per mount, data replaced on update.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartProps {
  title: string;
  /** [x (unix seconds), ...series] */
  data: uPlot.AlignedData;
  series: uPlot.Series[];
  /** Vertical marks (unix seconds) with a label and a colour: decisions, cold starts. */
  marks?: { x: number; label: string; color: string }[];
  height?: number;
  testId?: string;
  /** The x axis is time (unix seconds; default), else plain numbers (steps). */
  timeX?: boolean;
  /** The x range to show (the whole window, not just where there are points). */
  xRange?: [number, number];
}

/** Draws the marks as vertical lines with their labels, over the plot area. */
function marksPlugin(marks: () => ChartProps['marks']): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.font = `${11 * devicePixelRatio}px sans-serif`;
        (marks() ?? []).forEach((m, i) => {
          const x = u.valToPos(m.x, 'x', true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
          ctx.strokeStyle = m.color;
          ctx.fillStyle = m.color;
          ctx.setLineDash([4, 3]);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          // Labels on three rows, so marks close in time stay readable.
          const w = ctx.measureText(m.label).width;
          const tx = x + 3 + w > u.bbox.left + u.bbox.width ? x - 3 - w : x + 3; // near the right edge: to the left
          ctx.fillText(m.label, tx, u.bbox.top + (12 + 13 * (i % 3)) * devicePixelRatio);
        });
        ctx.restore();
      },
    },
  };
}

export function Chart(props: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const marks = useRef(props.marks);
  marks.current = props.marks;
  const xRange = useRef(props.xRange);
  xRange.current = props.xRange;
  useEffect(() => {
    if (!el.current) return;
    const width = Math.max(320, el.current.clientWidth || 800);
    plot.current = new uPlot(
      { title: props.title, width, height: props.height ?? 220, series: [{}, ...props.series], scales: { x: { time: props.timeX ?? true, ...(props.xRange ? { range: () => xRange.current ?? [0, 1] } : {}) } }, plugins: [marksPlugin(() => marks.current)] },
      props.data,
      el.current,
    );
    const onResize = (): void => plot.current?.setSize({ width: Math.max(320, el.current?.clientWidth ?? width), height: props.height ?? 220 });
    window.addEventListener('resize', onResize);
    return () => {
      window.removeEventListener('resize', onResize);
      plot.current?.destroy();
    };
  }, [props.series.length]);
  useEffect(() => {
    plot.current?.setData(props.data);
  }, [props.data, props.marks]);
  return <div class="chart" ref={el} data-testid={props.testId} />;
}
