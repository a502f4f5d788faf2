package io.peft4j.log;

import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The only class that touches SLF4J; loaded only after checking that SLF4J is on the class path. */
final class Slf4jBridge {

    private Slf4jBridge() {}

    static boolean hasRealProvider() {
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        String name = factory.getClass().getName();
        return !name.contains("NOP") && !name.contains("Substitute");
    }

    static void log(String loggerName, String level, String format, Object... args) {
        Logger logger = LoggerFactory.getLogger(loggerName);
        switch (level) {
            case "ERROR":
                logger.error(format, args);
                break;
            case "WARN":
                logger.warn(format, args);
                break;
            case "DEBUG":
                logger.debug(format, args);
                break;
            default:
                logger.info(format, args);
        }
    }
}
