package io.peft4j.examples;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.text.DecimalFormat;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** Draws training-loss curves, such as the LoRA and the full fine-tune, into one PNG (headless JFreeChart). */
final class LossChart {

    /**
     * One curve.
     *
     * @param label the legend entry
     * @param losses the mean loss of each epoch, first epoch first
     */
    record Curve(String label, List<Double> losses) {}

    private static final int WIDTH = 1000;
    private static final int HEIGHT = 540;

    private LossChart() {}

    /**
     * Renders the chart.
     *
     * @param title the chart's title
     * @param first the first curve (red)
     * @param second the second curve (blue)
     * @param png the image to write
     * @throws IOException if writing fails
     */
    static void render(String title, Curve first, Curve second, Path png) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(series(first));
        data.addSeries(series(second));
        JFreeChart chart = ChartFactory.createXYLineChart(title, "epoch", "mean training loss", data,
                PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        LogAxis lossAxis = new LogAxis("mean training loss (cross-entropy, log scale)");
        lossAxis.setSmallestValue(1e-5);
        lossAxis.setTickUnit(new NumberTickUnit(1.0));
        lossAxis.setNumberFormatOverride(new DecimalFormat("0.####"));
        plot.setRangeAxis(lossAxis);
        NumberAxis epochAxis = (NumberAxis) plot.getDomainAxis();
        epochAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        renderer.setSeriesPaint(0, new Color(0xD6, 0x27, 0x28));
        renderer.setSeriesPaint(1, new Color(0x1F, 0x77, 0xB4));
        renderer.setSeriesStroke(0, new BasicStroke(2.5f));
        renderer.setSeriesStroke(1, new BasicStroke(2.5f));
        plot.setRenderer(renderer);
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            java.nio.file.Files.createDirectories(parent);
        }
        ChartUtils.saveChartAsPNG(png.toFile(), chart, WIDTH, HEIGHT);
    }

    private static XYSeries series(Curve curve) {
        XYSeries series = new XYSeries(curve.label());
        for (int i = 0; i < curve.losses().size(); i++) {
            series.add(i + 1, curve.losses().get(i));
        }
        return series;
    }
}
