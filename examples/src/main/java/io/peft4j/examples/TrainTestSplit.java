package io.peft4j.examples;

/**
 * A fixed partition of the digits into training and test samples.
 *
 * @param train the samples to train on
 * @param test the held-out samples accuracy is measured on
 */
public record TrainTestSplit(DigitSamples train, DigitSamples test) {

    /** Both parts transformed by {@code shift}, same samples in the same order. */
    public TrainTestSplit shifted(DomainShift shift) {
        return new TrainTestSplit(train.shifted(shift), test.shifted(shift));
    }
}
