package io.peft4j.examples;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** Draws the training-loss curves of the LoRA and the full fine-tune into one PNG (headless JFreeChart). */
final class LossChart {

    private static final int WIDTH = 900;
    private static final int HEIGHT = 540;

    private LossChart() {}

    /**
     * Renders the chart.
     *
     * @param lora the LoRA run's loss per epoch
     * @param full the full fine-tune's loss per epoch
     * @param png the image to write
     * @throws IOException if writing fails
     */
    static void render(List<Double> lora, List<Double> full, Path png) throws IOException {
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(series("LoRA (peft4j agent)", lora));
        data.addSeries(series("Full fine-tune (no agent)", full));
        JFreeChart chart = ChartFactory.createXYLineChart("Fine-tuning on mirrored digits: training loss", "epoch",
                "mean cross-entropy loss", data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
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

    private static XYSeries series(String name, List<Double> losses) {
        XYSeries series = new XYSeries(name);
        for (int i = 0; i < losses.size(); i++) {
            series.add(i + 1, losses.get(i));
        }
        return series;
    }
}
